/**
 * Which slices of a model's SEG the user corrected with OHIF's segmentation tools, so that "Add labelled
 * slices" sends those slices and nothing else of the SEG (the rest is the model's guess, not truth).
 *
 * How edits are seen, in OHIF 3.13.2: a loaded SEG is a per-slice labelmap segmentation (one derived image
 * per source slice, like a labelmap the user creates), and every brush, eraser or fill stroke ends in
 * cornerstone's SEGMENTATION_DATA_MODIFIED, which OHIF's segmentationService re-broadcasts as its own
 * SEGMENTATION_DATA_MODIFIED with `{ segmentationId }` only. Cornerstone's own `modifiedSlicesToUse` would
 * not help: on a stack viewport it counts slices of the one image being edited, always [0]. The stroke
 * lands on the image the viewport shows, so on each event the tracker looks at the image on screen in
 * every viewport that shows the segmentation and compares its labels with those the SEG was loaded with
 * (a hash per slice, taken when tracking starts). A changed slice is corrected from then on, even if later
 * strokes put back the model's labels: the user looked at it and what it shows is their call. Events that
 * change nothing (OHIF announces a segmentation once after it is first drawn) mark nothing.
 */
import type { OhifContext } from '../ohif/context.js';
import type { Subscription } from '../ohif/types.js';

/** FNV-1a over the label values: equal labels, equal hash (a collision would only miss a correction). */
export function hashLabels(labels: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let n = 0; n < labels.length; n++) {
    h ^= labels[n]! & 0xffff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class CorrectionTracker {
  /** source image id -> labelmap image id */
  private readonly labelImageOf = new Map<string, string>();
  /** labelmap image id -> hash of its labels as loaded (or as last added) */
  private readonly baseline = new Map<string, number>();
  /** source image ids of the corrected slices, in the order they were first changed */
  private readonly corrected = new Set<string>();
  private subscription: Subscription | null = null;

  constructor(
    private readonly ctx: OhifContext,
    readonly segmentationId: string,
    private readonly onChange: (correctedImageIds: string[]) => void,
  ) {}

  /** Takes the baseline and starts listening; returns the function that stops it. */
  start(): () => void {
    const { segmentationService } = this.ctx.services;
    const labelmap = segmentationService.getSegmentation(this.segmentationId)?.representationData.Labelmap;
    const { cache } = this.ctx.cornerstone();
    for (const id of labelmap?.imageIds ?? []) {
      const image = cache.getImage(id);
      if (!image?.voxelManager || !image.referencedImageId) continue;
      this.labelImageOf.set(image.referencedImageId, id);
      this.baseline.set(id, hashLabels(image.voxelManager.getScalarData()));
    }
    this.subscription = segmentationService.subscribe(
      segmentationService.EVENTS.SEGMENTATION_DATA_MODIFIED,
      (payload) => {
        if ((payload as { segmentationId?: string } | undefined)?.segmentationId === this.segmentationId)
          this.check();
      },
    );
    return () => this.stop();
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  /** Source image ids of the corrected slices. */
  get correctedImageIds(): string[] {
    return [...this.corrected];
  }

  /** Corrected slices were added to the training set (default: all): their labels are the new baseline. */
  reset(imageIds: string[] = this.correctedImageIds): void {
    const { cache } = this.ctx.cornerstone();
    for (const source of imageIds) {
      const id = this.labelImageOf.get(source);
      const data = id ? cache.getImage(id)?.voxelManager?.getScalarData() : undefined;
      if (id && data) this.baseline.set(id, hashLabels(data));
      this.corrected.delete(source);
    }
    this.onChange(this.correctedImageIds);
  }

  /** One edit event: did the labels of a slice on screen change? */
  check(): void {
    const { cornerstoneViewportService, segmentationService, viewportGridService } = this.ctx.services;
    const { cache } = this.ctx.cornerstone();
    let changed = false;
    for (const viewportId of viewportGridService.getState().viewports.keys()) {
      const reps = segmentationService.getSegmentationRepresentations(viewportId, {
        segmentationId: this.segmentationId,
      });
      if (!reps.length) continue;
      const source = cornerstoneViewportService.getCornerstoneViewport(viewportId)?.getCurrentImageId();
      if (!source || this.corrected.has(source)) continue;
      const id = this.labelImageOf.get(source);
      const data = id ? cache.getImage(id)?.voxelManager?.getScalarData() : undefined;
      if (!id || !data || hashLabels(data) === this.baseline.get(id)) continue;
      this.corrected.add(source);
      changed = true;
    }
    if (changed) this.onChange(this.correctedImageIds);
  }
}
