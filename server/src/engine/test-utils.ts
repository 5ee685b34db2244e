/**
 * Helpers for the engine's tests: synthetic volumes and small ONNX models built with the trainer's PyTorch
 * (no weights can be downloaded here, so tests build the encoders they need).
 */
import { execFileSync } from 'node:child_process';

import { trainerDir, trainerPython } from '../util/paths.js';
import type { Geometry, Volume } from '../volume/types.js';

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
