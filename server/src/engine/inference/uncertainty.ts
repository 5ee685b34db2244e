/**
 * How sure the model is of each slice (issue 13: which slice to correct next). Counted while inference takes
 * the argmax, so it costs one comparison per pixel and class, not a second pass.
 *
 * A pixel is ambiguous when its most likely class is less than AMBIGUOUS_RATIO times as likely as the
 * runner-up (softmax margin; on the logits, top1 - top2 < ln AMBIGUOUS_RATIO, with the mirror passes and tiles
 * averaged). Per slice and foreground class c:
 *   score(c) = ambiguous(c) / (ambiguous(c) + confident(c))
 * where ambiguous(c) counts ambiguous pixels with c among their two most likely classes, and confident(c)
 * the pixels labelled c beyond doubt: the share of the class's possible extent on the slice that the model
 * cannot decide. A slice where the model wavers over whether a structure is there at all scores near 1; a
 * large structure with a crisp outline scores low. Under MIN_AMBIGUOUS_PIXELS ambiguous pixels a class
 * scores 0 (a few pixels at an edge say nothing). The slice's score is its worst class's.
 */
export const AMBIGUOUS_RATIO = 3;
export const LOG_AMBIGUOUS_RATIO = Math.log(AMBIGUOUS_RATIO);
export const MIN_AMBIGUOUS_PIXELS = 20;
/** The rule in one sentence, for results that list scores (the segment job's, `nnsam predict --uncertainty`) */
export const UNCERTAINTY_RULE =
  `per slice and segment: the share of the segment's possible extent where the most likely class is less ` +
  `than ${AMBIGUOUS_RATIO} x as likely as the runner-up`;

export interface SliceUncertainty {
  /** Slice index k along the volume's third axis */
  slice: number;
  /** The worst class score, 0..1 */
  score: number;
  /** Score per foreground class value (classes with nothing on the slice score 0) */
  classes: Record<string, number>;
  /** Ambiguous pixels of the slice (any class) */
  ambiguousPixels: number;
}

/** Counts one slice's pixels; `finish` turns the counts into its SliceUncertainty. */
export class SliceUncertaintyCounter {
  private readonly ambiguous: Uint32Array;
  private readonly confident: Uint32Array;
  private anyAmbiguous = 0;

  constructor(private readonly numClasses: number) {
    this.ambiguous = new Uint32Array(numClasses);
    this.confident = new Uint32Array(numClasses);
  }

  /** One pixel: its two most likely classes and whether the margin between them is ambiguous. */
  add(top1: number, top2: number, ambiguous: boolean): void {
    if (ambiguous) {
      this.anyAmbiguous++;
      if (top1 !== 0) this.ambiguous[top1]!++;
      if (top2 !== 0) this.ambiguous[top2]!++;
    } else if (top1 !== 0) {
      this.confident[top1]!++;
    }
  }

  /**
   * One pixel from its class scores at p, p + stride, ...: probabilities, or logits summed with a total
   * weight `logitWeight` (mirror passes, tile weights). Returns the argmax, as argmaxChannels would.
   */
  addScores(scores: ArrayLike<number>, stride: number, p: number, logitWeight: number | null): number {
    let top1 = 0;
    let v1 = scores[p]!;
    let top2 = -1;
    let v2 = -Infinity;
    for (let c = 1; c < this.numClasses; c++) {
      const v = scores[c * stride + p]!;
      if (v > v1) {
        [top2, v2] = [top1, v1];
        [top1, v1] = [c, v];
      } else if (v > v2) {
        [top2, v2] = [c, v];
      }
    }
    const ambiguous =
      logitWeight === null ? v1 < AMBIGUOUS_RATIO * v2 : v1 - v2 < LOG_AMBIGUOUS_RATIO * logitWeight;
    this.add(top1, top2, ambiguous);
    return top1;
  }

  finish(slice: number): SliceUncertainty {
    const classes: Record<string, number> = {};
    let score = 0;
    for (let c = 1; c < this.numClasses; c++) {
      const a = this.ambiguous[c]!;
      const s = a < MIN_AMBIGUOUS_PIXELS ? 0 : a / (a + this.confident[c]!);
      classes[String(c)] = s;
      score = Math.max(score, s);
    }
    return { slice, score, classes, ambiguousPixels: this.anyAmbiguous };
  }
}

/** The `count` least certain slices, worst first (ties: more ambiguous pixels, then lower index). */
export function leastCertainSlices(slices: SliceUncertainty[], count: number): SliceUncertainty[] {
  return slices
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || b.ambiguousPixels - a.ambiguousPixels || a.slice - b.slice)
    .slice(0, count);
}

/**
 * Every slice 0..depth-1 in order, `run` saying whether the network ran on it: slices skipped for having no
 * body are background beyond doubt and score 0 (what `nnsam predict --uncertainty` lists).
 */
export function everySlice(
  slices: SliceUncertainty[],
  depth: number,
  numClasses: number,
): (SliceUncertainty & { run: boolean })[] {
  const byIndex = new Map(slices.map((s) => [s.slice, s]));
  return Array.from({ length: depth }, (_, k) => {
    const s = byIndex.get(k);
    if (s) return { ...s, run: true };
    const classes = Object.fromEntries(Array.from({ length: numClasses - 1 }, (_, c) => [String(c + 1), 0]));
    return { slice: k, score: 0, classes, ambiguousPixels: 0, run: false };
  });
}
