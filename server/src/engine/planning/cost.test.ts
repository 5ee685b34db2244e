import { describe, expect, it } from 'vitest';

import { phantom, python } from '../../../../test/support/engine-fixtures.js';
import { networkMacs } from './cost.js';
import { planFromCases, type EncoderRef } from './plan.js';

const ENCODER: EncoderRef = {
  id: 'tiny:0',
  kind: 'onnx',
  name: 'tiny',
  source: 'file',
  sha256: null,
  path: null,
};

describe('network cost', () => {
  it("counts the convolutions' multiply-accumulates as PyTorch's FLOP counter does (2 FLOPs each)", () => {
    const c = phantom([96, 80, 2], 4);
    for (const encoder of [undefined, ENCODER]) {
      const plan = planFromCases([{ ...c, labelledSlices: [0] }], {
        classes: { '1': 'a', '2': 'b' },
        encoder,
      });
      const input: [number, number] = [plan.network.divisibleBy[0] * 3, plan.network.divisibleBy[1] * 2];
      const macs = networkMacs(plan, input);
      expect(macs.stages).toHaveLength(plan.network.numStages);
      expect(macs.stages[0]!.decoder).toBeGreaterThan(0);
      const flops = Number(
        python(
          `
import json, sys, torch
from torch.utils.flop_counter import FlopCounterMode
from nnsam_trainer.network import build_network, stage_strides
plan = json.loads(sys.stdin.read())
h, w = int(sys.argv[1]), int(sys.argv[2])
net = build_network(plan, int(plan["numClasses"]), deep_supervision=False).eval()
args = [torch.zeros(1, 1, h, w)]
if plan["embedding"]:
    sy, sx = stage_strides(plan["network"])[plan["embedding"]["stage"]]
    args.append(torch.zeros(1, plan["embedding"]["channels"], h // sy, w // sx))
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    net(*args)
print(counter.get_total_flops())`,
          input.map(String),
          JSON.stringify(plan),
        ).trim(),
      );
      expect(2 * macs.total, `embedding ${Boolean(encoder)}`).toBe(flops);
    }
  });
});
