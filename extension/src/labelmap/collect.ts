/**
 * Reads the labelmap the user painted with OHIF's segmentation tools on the series of a viewport.
 * In OHIF 3.13 a labelmap segmentation is stored per slice: `representationData.Labelmap.imageIds` are
 * derived images, each pointing at its source slice through `referencedImageId`; their voxels live in
 * cornerstone's cache. We map each source slice to its SOP Instance UID (and frame), so the server never
 * depends on the viewer's slice order.
 */
import type { LabelmapPayload } from '@nnsam/server/api';

import { ViewerError } from '../errors.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet, Segmentation } from '../ohif/types.js';
import { buildLabelmapPayload, hasLabels, type PaintedSlice } from './payload.js';

export interface CollectOptions {
  /** defaults to the active viewport */
  viewportId?: string;
  /** defaults to the viewport's active segmentation */
  segmentationId?: string;
  /**
   * Only these slices (cornerstone image ids of the source images), each sent even when it carries no
   * labels: the corrected slices of a model's SEG, where erasing a false positive leaves a slice that
   * shows none of the classes. Without it, every slice with a labelled pixel is sent.
   */
  onlyImageIds?: string[];
  /** Label value sent for each segment index, when they differ (a SEG numbers its segments 1..n). */
  labelValues?: Record<number, number>;
}

/** The image (not overlay) display set shown in a viewport. */
export function imageDisplaySetOf(ctx: OhifContext, viewportId: string): DisplaySet | undefined {
  const { viewportGridService, displaySetService } = ctx.services;
  const uids = viewportGridService.getDisplaySetsUIDsForViewport(viewportId) ?? [];
  return uids
    .map((uid) => displaySetService.getDisplaySetByUID(uid))
    .find((ds): ds is DisplaySet => !!ds && !ds.isOverlayDisplaySet);
}

export function activeViewportId(ctx: OhifContext): string {
  const id = ctx.services.viewportGridService.getActiveViewportId();
  if (!id) throw new ViewerError('no_viewport', 'No viewport is active.', { hint: 'Open a series first.' });
  return id;
}

/** The labelmap segmentation to read: the one asked for, else the viewport's active labelmap. */
export function findLabelmap(ctx: OhifContext, viewportId: string, segmentationId?: string): Segmentation {
  const { segmentationService } = ctx.services;
  let seg: Segmentation | undefined;
  if (segmentationId) {
    seg = segmentationService.getSegmentation(segmentationId);
    if (!seg) throw new ViewerError('no_segmentation', `There is no segmentation ${segmentationId}.`);
  } else {
    seg = segmentationService.getActiveSegmentation(viewportId);
    if (!seg?.representationData.Labelmap) {
      const rep = segmentationService
        .getSegmentationRepresentations(viewportId)
        .find((r) => r.type === 'Labelmap');
      seg = rep ? segmentationService.getSegmentation(rep.segmentationId) : undefined;
    }
  }
  if (!seg?.representationData.Labelmap?.imageIds?.length) {
    throw new ViewerError('no_labelmap', 'The active series has no labelmap segmentation.', {
      hint: 'Open the Labelmap segmentation panel, add a segmentation and paint a few slices with the brush.',
    });
  }
  return seg;
}

/** 1-based frame number from a WADO-RS image id (…/frames/N), undefined for single-frame instances. */
export function frameNumberOf(imageId: string, numberOfFrames: unknown): number | undefined {
  if (!(Number(numberOfFrames) > 1)) return undefined;
  const m = /\/frames\/(\d+)(?:[/?#]|$)/.exec(imageId) ?? /[?&]frame=(\d+)/.exec(imageId);
  return m ? Number(m[1]) : undefined;
}

/** The slice a viewport shows now: its instance (and frame) and size, for marking it as a negative. */
export function currentSlice(
  ctx: OhifContext,
  viewportId: string,
): { displaySet: DisplaySet; slice: PaintedSlice } {
  const displaySet = imageDisplaySetOf(ctx, viewportId);
  const viewport = ctx.services.cornerstoneViewportService.getCornerstoneViewport(viewportId);
  const imageId = viewport?.getCurrentImageId();
  if (!displaySet?.imageIds?.length || !imageId || !displaySet.imageIds.includes(imageId)) {
    throw new ViewerError('no_series', `Viewport ${viewportId} shows no slice of an image series.`, {
      hint: 'Drag an image series into the viewport and scroll to the slice.',
    });
  }
  const instance = ctx.cornerstone().metaData.get('instance', imageId);
  const rows = Number(instance?.Rows);
  const columns = Number(instance?.Columns);
  if (typeof instance?.SOPInstanceUID !== 'string' || !(rows > 0) || !(columns > 0)) {
    throw new ViewerError(
      'no_instance_metadata',
      `No DICOM metadata (SOP Instance UID, size) for image ${imageId}.`,
      {
        hint: 'Reload the study and try again.',
      },
    );
  }
  return {
    displaySet,
    slice: {
      sopInstanceUID: instance.SOPInstanceUID,
      frameNumber: frameNumberOf(imageId, instance.NumberOfFrames),
      rows,
      columns,
      labels: new Uint8Array(rows * columns),
      negative: true,
    },
  };
}

export function collectLabelmap(ctx: OhifContext, options: CollectOptions = {}): LabelmapPayload {
  const viewportId = options.viewportId ?? activeViewportId(ctx);
  const displaySet = imageDisplaySetOf(ctx, viewportId);
  if (!displaySet?.imageIds?.length) {
    throw new ViewerError('no_series', `Viewport ${viewportId} shows no image series.`, {
      hint: 'Drag an image series into the viewport.',
    });
  }
  const segmentation = findLabelmap(ctx, viewportId, options.segmentationId);
  const { cache, metaData } = ctx.cornerstone();
  const seriesImages = new Set(displaySet.imageIds);
  const only = options.onlyImageIds ? new Set(options.onlyImageIds) : undefined;
  const remap = options.labelValues;

  const slices: PaintedSlice[] = [];
  for (const labelImageId of segmentation.representationData.Labelmap!.imageIds!) {
    const image = cache.getImage(labelImageId);
    if (!image?.voxelManager || !image.referencedImageId) continue; // never painted, never loaded
    const source = image.referencedImageId;
    if (only && !only.has(source)) continue;
    if (!seriesImages.has(source)) {
      throw new ViewerError(
        'labelmap_on_other_series',
        `Segmentation "${segmentation.label}" belongs to another series than the one in viewport ${viewportId}.`,
        { hint: 'Select the viewport that shows the series you painted on.' },
      );
    }
    const instance = metaData.get('instance', source);
    const sopInstanceUID = instance?.SOPInstanceUID;
    if (typeof sopInstanceUID !== 'string') {
      throw new ViewerError('no_instance_metadata', `No DICOM metadata for image ${source}.`, {
        hint: 'Reload the study and try again.',
      });
    }
    const data = image.voxelManager.getScalarData();
    const labels = remap ? Uint8Array.from(data, (v) => (v ? (remap[v] ?? v) : 0)) : data;
    slices.push({
      sopInstanceUID,
      frameNumber: frameNumberOf(source, instance?.NumberOfFrames),
      rows: image.rows,
      columns: image.columns,
      labels,
      ...(only && !hasLabels(labels) ? { negative: true } : {}),
    });
  }
  const segmentNames: Record<number, string> = {};
  for (const [index, segment] of Object.entries(segmentation.segments)) {
    if (segment?.label) segmentNames[remap?.[Number(index)] ?? Number(index)] = segment.label;
  }
  return buildLabelmapPayload({
    studyInstanceUID: displaySet.StudyInstanceUID,
    seriesInstanceUID: displaySet.SeriesInstanceUID,
    slices,
    segmentNames,
  });
}
