/**
 * `nnsam.createLabelmap`: starts labelling with the project's classes. Creates an empty labelmap on the
 * series of the viewport whose segments ARE the classes (segment number = class value, same names and
 * colours), so what the user paints travels to the server with the right label values. Then it opens
 * OHIF's Labelmap panel, where the brush and the segment list are.
 */
import type { ClassDef } from '@nnsam/server/api';

import { ViewerError } from '../errors.js';
import type { OhifContext } from '../ohif/context.js';
import { activeViewportId, imageDisplaySetOf } from './collect.js';

/** OHIF's own labelmap panel (brush, eraser, segment list), as the stock segmentation mode names it. */
export const LABELMAP_PANEL_ID = '@ohif/extension-cornerstone.panelModule.panelSegmentationWithToolsLabelMap';

export interface CreateLabelmapOptions {
  classes: Array<Pick<ClassDef, 'value' | 'name' | 'color'>>;
  /** name of the segmentation in OHIF's panel */
  label?: string;
  viewportId?: string;
  /** open OHIF's Labelmap panel afterwards (default true) */
  openPanel?: boolean;
}

export interface CreatedLabelmap {
  segmentationId: string;
  viewportId: string;
  seriesInstanceUID: string;
}

export async function createLabelmap(
  ctx: OhifContext,
  options: CreateLabelmapOptions,
): Promise<CreatedLabelmap> {
  const classes = [...(options.classes ?? [])].sort((a, b) => a.value - b.value);
  if (!classes.length) {
    throw new ViewerError('no_classes', 'The project has no classes to label with.', {
      hint: 'Create a project with at least one class in the nnSAM panel.',
    });
  }
  const viewportId = options.viewportId ?? activeViewportId(ctx);
  const displaySet = imageDisplaySetOf(ctx, viewportId);
  if (!displaySet?.imageIds?.length) {
    throw new ViewerError('no_series', `Viewport ${viewportId} shows no image series to label.`, {
      hint: 'Drag an image series into the viewport first.',
    });
  }
  const { segmentationService, panelService } = ctx.services;
  const first = classes[0]!.value;
  const segments = Object.fromEntries(
    classes.map((c) => [
      c.value,
      { segmentIndex: c.value, label: c.name, active: c.value === first, locked: false },
    ]),
  );
  const segmentationId = await segmentationService.createLabelmapForDisplaySet(displaySet, {
    label: options.label ?? 'nnSAM labels',
    segments,
  });
  await segmentationService.addSegmentationRepresentation(viewportId, { segmentationId, type: 'Labelmap' });
  for (const c of classes) {
    if (c.color) segmentationService.setSegmentColor(viewportId, segmentationId, c.value, [...c.color, 255]);
  }
  segmentationService.setActiveSegmentation(viewportId, segmentationId);
  segmentationService.setActiveSegment(segmentationId, first);
  if (options.openPanel !== false) {
    // After the stock mode's own reaction to a new segmentation (it runs on the same events), so the user
    // lands on the brush whether or not this was the first segmentation. Not forced: the nnSAM mode only
    // undoes forced switches (see mode/src/extend.ts).
    await new Promise((r) => setTimeout(r, 50));
    panelService.activatePanel(LABELMAP_PANEL_ID, false);
  }
  return { segmentationId, viewportId, seriesInstanceUID: displaySet.SeriesInstanceUID };
}
