/**
 * Which slices the SAM encoder runs on at inference. The 64 x 64 embedding samples the slice's plane every
 * field-of-view / 64 (6 mm for a 384 mm CT field of view); a thin-slice series (1 mm) would run the encoder,
 * the most expensive step on a CPU (1 to 3 s a slice on the 2-core machines), 6 times per embedding cell
 * along the slice axis.
 * So the encoder runs on every `stride`-th slice (anchors), with the stride chosen to sample the slice axis
 * at least twice per embedding cell, and the slices between two anchors get the linear interpolation of
 * their embeddings. Series with slices as far apart as a cell (most clinical CT at 2.5-5 mm, MR, ACDC at
 * 10 mm) keep stride 1: every slice its own embedding. docs/engine.md (Inference) has the measurements.
 */
import type { Geometry } from '../../volume/index.js';
import { EMBEDDING_GRID } from '../types.js';

/** Stride along the slice axis: floor(embedding cell / (2 x slice spacing)), at least 1. */
export function embeddingSliceStride(geometry: Geometry, grid: number = EMBEDDING_GRID): number {
  const [cols, rows, slices] = geometry.dims;
  const [dx, dy, dz] = geometry.spacing;
  if (slices < 3 || !(dz > 0)) return 1;
  const cellMm = Math.min(cols * dx, rows * dy) / grid;
  return Math.max(1, Math.floor(cellMm / (2 * dz)));
}

/**
 * Embeddings of the slices first..last (in any order of requests, nearly increasing in practice): anchors at
 * first, first + stride, ... and last run the encoder (through `embed`, which caches); a slice between two
 * anchors gets (1 - t) * below + t * above. Holds at most the anchors around the latest request.
 */
export class InterpolatedEmbeddings {
  private readonly anchors = new Map<number, Promise<Float32Array>>();

  constructor(
    private readonly embed: (k: number) => Promise<Float32Array>,
    readonly stride: number,
    private readonly first: number,
    private readonly last: number,
  ) {
    if (!Number.isInteger(stride) || stride < 1)
      throw new Error(`embedding stride must be >= 1, got ${stride}`);
    if (last < first) throw new Error(`no slices to embed: ${first}..${last}`);
  }

  /** Slice indices the encoder runs on. */
  anchorSlices(): number[] {
    const out: number[] = [];
    for (let k = this.first; k < this.last; k += this.stride) out.push(k);
    out.push(this.last);
    return out;
  }

  async get(k: number): Promise<Float32Array> {
    if (k < this.first || k > this.last) throw new Error(`slice ${k} outside ${this.first}..${this.last}`);
    const below = this.first + Math.floor((k - this.first) / this.stride) * this.stride;
    this.forgetBefore(below);
    if (k === below) return this.anchor(below);
    const above = Math.min(below + this.stride, this.last);
    const t = (k - below) / (above - below);
    const [a, b] = await Promise.all([this.anchor(below), this.anchor(above)]);
    const out = new Float32Array(a.length);
    for (let n = 0; n < a.length; n++) out[n] = a[n]! + (b[n]! - a[n]!) * t;
    return out;
  }

  private anchor(k: number): Promise<Float32Array> {
    let e = this.anchors.get(k);
    if (!e) {
      e = this.embed(k);
      e.catch(() => undefined); // awaited by the caller; a failure must not count as unhandled meanwhile
      this.anchors.set(k, e);
    }
    return e;
  }

  private forgetBefore(k: number): void {
    for (const key of this.anchors.keys()) if (key < k) this.anchors.delete(key);
  }
}
