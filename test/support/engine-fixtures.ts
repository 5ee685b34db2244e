/**
 * Helpers for the engine's tests: synthetic volumes and small ONNX models built with the trainer's PyTorch
 * (no weights can be downloaded here, so tests build the encoders they need).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { sharedDataDir, trainerDir, trainerPython } from '../../server/src/util/paths.js';
import { readNifti } from '../../server/src/volume/nifti.js';
import type { Geometry, Volume } from '../../server/src/volume/types.js';
import { diceCounts, diceOf } from '../../server/src/engine/inference/postprocess.js';
import { predictVolume } from '../../server/src/engine/inference/predict.js';
import type { LoadedModel } from '../../server/src/engine/model.js';
import type { Plan } from '../../server/src/engine/planning/plan.js';
import { seededRandom, shuffled } from '../../server/src/engine/numeric.js';
import type { TrainingCase } from '../../server/src/engine/types.js';

export function geometry(
  dims: [number, number, number],
  spacing: [number, number, number] = [1, 1, 5],
): Geometry {
  return {
    dims,
    spacing,
    origin: [0, 0, 0],
    direction: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
}

/** A phantom: per slice a bright disk (label 1) and a dark square (label 2) on a noisy background. */
export function phantom(
  dims: [number, number, number],
  seed = 1,
  spacing: [number, number, number] = [1, 1, 5],
): { image: Volume<Float32Array>; labels: Volume<Uint8Array> } {
  const [nx, ny, nz] = dims;
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const image = new Float32Array(nx * ny * nz);
  const labels = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    const cx = nx * (0.3 + 0.4 * rand());
    const cy = ny * (0.3 + 0.4 * rand());
    const r = Math.min(nx, ny) * (0.1 + 0.05 * rand());
    const qx = Math.floor(nx * 0.1 + rand() * nx * 0.15);
    const qy = Math.floor(ny * 0.6 + rand() * ny * 0.2);
    const q = Math.max(3, Math.floor(Math.min(nx, ny) * 0.12));
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const n = i + nx * (j + ny * k);
        let v = 100 + 10 * (rand() - 0.5);
        if ((i - cx) ** 2 + (j - cy) ** 2 < r * r) {
          labels[n] = 1;
          v += 80;
        } else if (i >= qx && i < qx + q && j >= qy && j < qy + q) {
          labels[n] = 2;
          v -= 60;
        }
        image[n] = v;
      }
    }
  }
  const g = geometry(dims, spacing);
  return { image: { geometry: g, data: image }, labels: { geometry: g, data: labels } };
}

/** Runs a Python snippet with the trainer's interpreter (nnsam_trainer importable); returns stdout. */
export function python(script: string, args: string[] = [], stdin?: string): string {
  return execFileSync(trainerPython(), ['-c', script, ...args], {
    encoding: 'utf8',
    input: stdin,
    env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONPATH: trainerDir },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/**
 * A tiny SAM-shaped encoder: [1,3,1024,1024] -> 16x16 average pooling -> 1x1 conv (fixed random weights,
 * seed 0) -> [1,256,64,64]. It carries real image information, so a model trained with it can use it.
 * `outChannels` other than 256 builds a deliberately wrong encoder for the validation tests.
 */
export function buildTinyEncoder(path: string, outChannels = 256, grid = 64): void {
  python(
    `
import sys, torch
torch.manual_seed(0)
out, grid = int(sys.argv[2]), int(sys.argv[3])
class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = torch.nn.AvgPool2d(1024 // grid)
        self.conv = torch.nn.Conv2d(3, out, 1)
    def forward(self, x):
        return torch.tanh(self.conv(self.pool(x)))
m = Tiny().eval()
import warnings
warnings.simplefilter("ignore")
torch.onnx.export(m, (torch.zeros(1, 3, 1024, 1024),), sys.argv[1], input_names=["image"],
                  output_names=["embedding"], opset_version=17, dynamo=False)
`,
    [path, String(outChannels), String(grid)],
  );
}

/**
 * The trainer's network for `plan` (nnsam_trainer.network, He init seeded with `seed`), exported to `path` as
 * training exports it: a real U-Net (instance norm, SAM embedding input when planned) without training it.
 */
export function exportPlanNetwork(plan: Plan, path: string, seed = 0): void {
  python(
    `
import json, sys, torch
from nnsam_trainer.export import export_onnx
from nnsam_trainer.network import build_network
plan = json.loads(sys.stdin.read())
torch.manual_seed(int(sys.argv[2]))
net = build_network(plan, int(plan["numClasses"]))
export_onnx(net, plan, int(plan["numClasses"]), sys.argv[1], check=False)`,
    [path, String(seed)],
    JSON.stringify(plan),
  );
}

/**
 * ACDC few-shot protocol (../shared/data/README.md): draw `volumes` training volumes with a fixed seed and,
 * in each, `perVolume` labelled slices among those that show the heart; every other slice is unlabelled.
 */
export async function acdcFewShot(seed: number, volumes: number, perVolume: number): Promise<TrainingCase[]> {
  const dir = sharedDataDir('acdc');
  const splits = JSON.parse(readFileSync(join(dir, 'splits.json'), 'utf8')) as { train: string[] };
  const random = seededRandom(seed);
  const cases: TrainingCase[] = [];
  for (const name of shuffled(splits.train, random).slice(0, volumes)) {
    const image = await readNifti(join(dir, 'imagesTr', `${name}.nii.gz`));
    const labels = await readNifti(join(dir, 'labelsTr', `${name}.nii.gz`));
    const [nx, ny, nz] = labels.geometry.dims;
    const withHeart = [...Array(nz).keys()].filter((k) =>
      labels.data.subarray(k * nx * ny, (k + 1) * nx * ny).some((v) => v > 0),
    );
    const labelledSlices = shuffled(withHeart, random)
      .slice(0, perVolume)
      .sort((a, b) => a - b);
    cases.push({ image, labels, labelledSlices, name });
  }
  return cases;
}

/** Dice per class (1..3) and mean over every slice of the first `count` ACDC validation volumes. */
export async function acdcValidationDice(
  model: LoadedModel,
  count: number,
  options: { tta?: boolean } = {},
): Promise<{ perClass: Record<string, number>; mean: number; slices: number; seconds: number }> {
  const dir = sharedDataDir('acdc');
  const names = (JSON.parse(readFileSync(join(dir, 'splits.json'), 'utf8')) as { val: string[] }).val.slice(
    0,
    count,
  );
  const totals = new Map<number, [number, number]>([1, 2, 3].map((c) => [c, [0, 0]]));
  let slices = 0;
  let seconds = 0;
  for (const name of names) {
    const image = await readNifti(join(dir, 'imagesVal', `${name}.nii.gz`));
    const labels = await readNifti(join(dir, 'labelsVal', `${name}.nii.gz`));
    const t0 = performance.now();
    const pred = await predictVolume(model, image, { tta: options.tta ?? true });
    seconds += (performance.now() - t0) / 1000;
    slices += image.geometry.dims[2];
    for (const [c, [num, den]] of diceCounts(pred.data, labels.data, [1, 2, 3], [[0, pred.data.length]])) {
      totals.get(c)![0] += num;
      totals.get(c)![1] += den;
    }
  }
  const perClass = Object.fromEntries([...totals].map(([c, counts]) => [String(c), diceOf(counts) ?? 0]));
  const mean = (perClass['1']! + perClass['2']! + perClass['3']!) / 3;
  return { perClass, mean, slices, seconds };
}
