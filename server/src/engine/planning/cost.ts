/**
 * What the planned network costs per input: multiply-accumulates of its convolutions, stage by stage, as the
 * trainer builds it (nnsam_trainer/network.py: PlainConvEncoder, transposed-convolution decoder with the SAM
 * embedding concatenated at its stage, the full-resolution segmentation head only, as exported). Instance
 * norms, activations and concatenations are elementwise: left out, as FLOP counters do. The benchmarks put
 * these next to measured convolution throughput (bench/src/roofline.ts).
 */
import { stageStrides, type Plan } from './plan.js';

export interface StageMacs {
  stage: number;
  /** Feature map of the stage for the given input [rows, cols] */
  shape: [number, number];
  features: number;
  /** The encoder's convolutions of this stage */
  encoder: number;
  /** The decoder's transposed convolution up to this stage and its convolutions here (and the head at 0) */
  decoder: number;
}

export interface NetworkMacs {
  input: [number, number];
  total: number;
  stages: StageMacs[];
}

const conv = (cin: number, cout: number, k: number[], shape: [number, number]) =>
  cin * cout * k[0]! * k[1]! * shape[0] * shape[1];

/** Multiply-accumulates of one forward pass of one input of `input` pixels (a multiple of the divisibility). */
export function networkMacs(
  plan: Pick<Plan, 'network' | 'numClasses' | 'embedding'>,
  input: [number, number],
): NetworkMacs {
  const net = plan.network;
  const strides = stageStrides(net);
  const shapes = strides.map(([sy, sx]): [number, number] => [input[0] / sy, input[1] / sx]);
  const f = net.featuresPerStage;
  const n = f.length;
  const stages: StageMacs[] = shapes.map((shape, s) => {
    let encoder = conv(s === 0 ? 1 : f[s - 1]!, f[s]!, net.kernelSizes[s]!, shape);
    encoder += (net.nConvEncoder[s]! - 1) * conv(f[s]!, f[s]!, net.kernelSizes[s]!, shape);
    return { stage: s, shape, features: f[s]!, encoder, decoder: 0 };
  });
  for (let s = 0; s < n - 1; s++) {
    // up from stage s + 1 to stage s, then the stage's convolutions on [up, skip (, embedding)]
    const stage = stages[s]!;
    const below = shapes[s + 1]!;
    let decoder = conv(f[s + 1]!, f[s]!, net.strides[s + 1]!, below);
    const extra = plan.embedding?.stage === s ? plan.embedding.channels : 0;
    decoder += conv(2 * f[s]! + extra, f[s]!, net.kernelSizes[s]!, stage.shape);
    decoder += (net.nConvDecoder[n - 2 - s]! - 1) * conv(f[s]!, f[s]!, net.kernelSizes[s]!, stage.shape);
    if (s === 0) decoder += conv(f[0]!, plan.numClasses, [1, 1], stage.shape);
    stage.decoder = decoder;
  }
  return { input, total: stages.reduce((t, s) => t + s.encoder + s.decoder, 0), stages };
}
