/**
 * The SAM embedding on a decoder stage's grid, exactly as the trainer samples it: torch grid_sample
 * (bilinear, padding_mode='zeros', align_corners=False) of the 64x64 embedding, which covers the whole
 * preprocessed slice (rows x cols). Output pixel q of a stage with stride s sits at slice position
 * (q + 0.5) * s - 0.5, i.e. at embedding coordinate (q + 0.5) * s * 64 / rows - 0.5. Taps outside the
 * 64x64 grid read zero (as in training), so the map can run past the slice into the padded canvas. A map of a
 * crop starts at `origin` (stage-grid cells), the crop's start over the stride.
 */

interface AxisTaps {
  i0: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

function axisTaps(
  outSize: number,
  stride: number,
  grid: number,
  sliceSize: number,
  origin: number,
): AxisTaps {
  const i0 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  for (let q = 0; q < outSize; q++) {
    const pos = ((origin + q + 0.5) * stride * grid) / sliceSize - 0.5;
    const f = Math.floor(pos);
    const t = pos - f;
    i0[q] = f;
    // a tap outside the grid contributes zero (grid_sample's zeros padding)
    w0[q] = f >= 0 && f < grid ? 1 - t : 0;
    w1[q] = f + 1 >= 0 && f + 1 < grid ? t : 0;
  }
  return { i0, w0, w1 };
}

/**
 * @param embedding [channels, grid[0], grid[1]]
 * @param slice     preprocessed slice shape [rows, cols] that the embedding covers
 * @param stride    cumulative stride [rows, cols] of the decoder stage
 * @param out       output grid [rows, cols] (canvas / stride)
 * @param origin    stage-grid cell [row, col] of the output's first cell (a crop's start / stride)
 */
export function embeddingOnStageGrid(
  embedding: Float32Array,
  channels: number,
  grid: [number, number],
  slice: [number, number],
  stride: [number, number],
  out: [number, number],
  origin: [number, number] = [0, 0],
): Float32Array {
  const [gh, gw] = grid;
  const [oh, ow] = out;
  const ty = axisTaps(oh, stride[0], gh, slice[0], origin[0]);
  const tx = axisTaps(ow, stride[1], gw, slice[1], origin[1]);
  const result = new Float32Array(channels * oh * ow);
  const clampY = (i: number) => Math.min(gh - 1, Math.max(0, i));
  const clampX = (i: number) => Math.min(gw - 1, Math.max(0, i));
  for (let c = 0; c < channels; c++) {
    const src = c * gh * gw;
    const dst = c * oh * ow;
    for (let y = 0; y < oh; y++) {
      const wy0 = ty.w0[y]!;
      const wy1 = ty.w1[y]!;
      if (wy0 === 0 && wy1 === 0) continue;
      const r0 = src + clampY(ty.i0[y]!) * gw;
      const r1 = src + clampY(ty.i0[y]! + 1) * gw;
      for (let x = 0; x < ow; x++) {
        const x0 = clampX(tx.i0[x]!);
        const x1 = clampX(tx.i0[x]! + 1);
        const wx0 = tx.w0[x]!;
        const wx1 = tx.w1[x]!;
        result[dst + y * ow + x] =
          wy0 * (wx0 * embedding[r0 + x0]! + wx1 * embedding[r0 + x1]!) +
          wy1 * (wx0 * embedding[r1 + x0]! + wx1 * embedding[r1 + x1]!);
      }
    }
  }
  return result;
}
