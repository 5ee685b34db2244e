/**
 * Shows a DICOM SEG series as an overlay through OHIF's standard cornerstone-dicom-seg path: re-query the
 * study, find the SEG display set, `load()` it (OHIF parses it and creates a segmentation whose id is the
 * display set's UID), then add a labelmap representation to the viewport that shows the referenced series.
 * The result looks and behaves like any SEG the user opens by hand.
 */
import { ViewerError } from '../errors.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet } from '../ohif/types.js';
import { requeryStudy } from './requery.js';

export interface ShowSegOptions {
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  /** viewport to draw on; defaults to the active one if it shows the referenced series, else any that does */
  viewportId?: string;
  /** how long to wait for the SEG's display set after the re-query (ms) */
  timeoutMs?: number;
}

export interface ShownSeg {
  segmentationId: string;
  viewportId: string;
  /** number of segments the SEG defines */
  segmentCount: number;
  segmentLabels: string[];
}

export async function showSeg(ctx: OhifContext, options: ShowSegOptions): Promise<ShownSeg> {
  const { StudyInstanceUID, SeriesInstanceUID } = options;
  if (!StudyInstanceUID || !SeriesInstanceUID) {
    throw new ViewerError('bad_request', 'showSeg needs a StudyInstanceUID and a SeriesInstanceUID.');
  }
  const { segmentationService } = ctx.services;
  const dataSource = ctx.extensionManager.getActiveDataSource()[0];
  if (!dataSource) throw new ViewerError('no_data_source', 'The viewer has no active data source.');

  let segDisplaySet = findSegDisplaySet(ctx, SeriesInstanceUID);
  if (!segDisplaySet) {
    await requeryStudy(dataSource, StudyInstanceUID);
    segDisplaySet = await waitFor(
      () => findSegDisplaySet(ctx, SeriesInstanceUID),
      options.timeoutMs ?? 30_000,
    );
  }
  if (!segDisplaySet) {
    throw new ViewerError(
      'seg_not_found',
      `No SEG series ${SeriesInstanceUID} in study ${StudyInstanceUID} on the DICOMweb server.`,
      { hint: 'Check that the segmentation job finished and stored its SEG, then try again.' },
    );
  }
  const viewportId = viewportFor(ctx, segDisplaySet, options.viewportId);

  await segDisplaySet.load!({ headers: authorizationHeaders(ctx) });
  const segmentationId = segDisplaySet.displaySetInstanceUID;
  const existing = segmentationService.getSegmentationRepresentations(viewportId, { segmentationId });
  if (!existing.length)
    await segmentationService.addSegmentationRepresentation(viewportId, { segmentationId });

  const segmentation = segmentationService.getSegmentation(segmentationId);
  if (!segmentation)
    throw new ViewerError('seg_load_failed', `OHIF could not load SEG series ${SeriesInstanceUID}.`);
  await showSegmentedSlice(ctx, viewportId, segDisplaySet);
  const segments = Object.values(segmentation.segments).filter((s) => !!s);
  return {
    segmentationId,
    viewportId,
    segmentCount: segments.length,
    segmentLabels: segments.map((s) => s!.label),
  };
}

function findSegDisplaySet(ctx: OhifContext, seriesInstanceUID: string): DisplaySet | undefined {
  return ctx.services.displaySetService
    .getDisplaySetsForSeries(seriesInstanceUID)
    .find((ds) => ds.Modality === 'SEG' && typeof ds.load === 'function');
}

/** The viewport to draw on: it must show the series the SEG references. */
function viewportFor(ctx: OhifContext, seg: DisplaySet, requested?: string): string {
  const { viewportGridService, displaySetService } = ctx.services;
  const referencedSeries =
    seg.referencedSeriesInstanceUID ??
    (seg.referencedDisplaySetInstanceUID
      ? displaySetService.getDisplaySetByUID(seg.referencedDisplaySetInstanceUID)?.SeriesInstanceUID
      : undefined);
  const shows = (viewportId: string) =>
    (viewportGridService.getDisplaySetsUIDsForViewport(viewportId) ?? []).some(
      (uid) => displaySetService.getDisplaySetByUID(uid)?.SeriesInstanceUID === referencedSeries,
    );
  const candidates = [
    requested,
    viewportGridService.getActiveViewportId(),
    ...viewportGridService.getState().viewports.keys(),
  ];
  const found = candidates.find((id): id is string => !!id && shows(id));
  if (!found) {
    throw new ViewerError(
      'series_not_shown',
      `The SEG refers to series ${referencedSeries ?? '(unknown)'}, which no viewport shows.`,
      { hint: 'Open that series in a viewport, then show the segmentation again.' },
    );
  }
  return found;
}

/** If the viewport's current slice carries none of the SEG's labels, go to the first slice that does. */
async function showSegmentedSlice(ctx: OhifContext, viewportId: string, seg: DisplaySet): Promise<void> {
  const first = (seg as { firstSegmentedSliceImageId?: string | null }).firstSegmentedSliceImageId;
  const viewport = ctx.services.cornerstoneViewportService.getCornerstoneViewport(viewportId);
  if (!first || !viewport?.getImageIds || !viewport.setImageIdIndex) return;
  const current = viewport.getCurrentImageId();
  const labelmap = ctx.services.segmentationService.getSegmentation(seg.displaySetInstanceUID)
    ?.representationData.Labelmap;
  const { cache } = ctx.cornerstone();
  const currentHasLabels = (labelmap?.imageIds ?? []).some((id) => {
    const image = cache.getImage(id);
    if (!image || image.referencedImageId !== current || !image.voxelManager) return false;
    const data = image.voxelManager.getScalarData();
    for (let n = 0; n < data.length; n++) if (data[n] !== 0) return true;
    return false;
  });
  if (currentHasLabels) return;
  const index = viewport.getImageIds().indexOf(first);
  if (index >= 0) await viewport.setImageIdIndex(index);
}

/**
 * Scrolls a viewport to the image of one SOP instance (a "Label next" suggestion). OHIF's DICOMweb image ids
 * name the instance (".../instances/<SOPInstanceUID>/frames/<n>"); one the viewport does not show is an error.
 */
export async function jumpToImage(
  ctx: OhifContext,
  viewportId: string,
  sopInstanceUID: string,
): Promise<void> {
  const viewport = ctx.services.cornerstoneViewportService.getCornerstoneViewport(viewportId);
  if (!viewport?.getImageIds || !viewport.setImageIdIndex) {
    throw new ViewerError('viewport_gone', 'The viewport that showed the segmentation is no longer open.', {
      hint: 'Segment the series again to show it.',
    });
  }
  const index = viewport.getImageIds().findIndex((id) => id.includes(`/instances/${sopInstanceUID}/`));
  if (index < 0) {
    throw new ViewerError('image_not_shown', `The viewport does not show the image ${sopInstanceUID}.`, {
      hint: 'Open the segmented series in that viewport.',
    });
  }
  await viewport.setImageIdIndex(index);
}

/** The SEG comes from the PACS like any image: with OHIF's own DICOMweb credentials. */
function authorizationHeaders(ctx: OhifContext): Record<string, string> {
  return ctx.services.userAuthenticationService?.getAuthorizationHeader?.() ?? {};
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}
