/**
 * What the viewer shows: the series in the active viewport and the SEGs loaded for it (the panel's "Or add
 * a SEG of this series"), followed while the panel is on screen, and how series are named in lists.
 */
import { ViewerError } from '../errors.js';
import { imageDisplaySetOf } from '../labelmap/collect.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet } from '../ohif/types.js';
import { Store } from './store.js';

/** The series in the active viewport, and SEGs loaded in the viewer that label it. */
export interface ViewerSelection {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  description: string;
  segs: Array<{ seriesInstanceUID: string; description: string }>;
}

export interface SelectionState {
  selection: ViewerSelection | null;
}

const NON_IMAGE = new Set(['SEG', 'RTSTRUCT', 'SR', 'PR', 'KO', 'RWV', 'DOC']);

export class SelectionStore extends Store<SelectionState> {
  constructor(private readonly ctx: OhifContext) {
    super({ selection: null });
  }

  /** The active viewport's series and the loaded SEGs that label it, read from OHIF now. */
  current(): ViewerSelection | null {
    const { viewportGridService, displaySetService } = this.ctx.services;
    const viewportId = viewportGridService.getActiveViewportId();
    const ds = viewportId ? imageDisplaySetOf(this.ctx, viewportId) : undefined;
    if (!ds) return null;
    const segs = displaySetService
      .getActiveDisplaySets()
      .filter(
        (s) =>
          s.Modality === 'SEG' &&
          s.StudyInstanceUID === ds.StudyInstanceUID &&
          (!s.referencedSeriesInstanceUID || s.referencedSeriesInstanceUID === ds.SeriesInstanceUID),
      )
      .map((s) => ({ seriesInstanceUID: s.SeriesInstanceUID, description: s.SeriesDescription || 'SEG' }));
    return {
      studyInstanceUID: ds.StudyInstanceUID,
      seriesInstanceUID: ds.SeriesInstanceUID,
      description: describeSeries(ds),
      segs: [...new Map(segs.map((s) => [s.seriesInstanceUID, s])).values()],
    };
  }

  require(): ViewerSelection {
    const selection = this.current();
    if (!selection) throw noSeries();
    return selection;
  }

  /** Follows OHIF's viewport and display-set events; returns the function that stops following. */
  watch(): () => void {
    const { viewportGridService, displaySetService } = this.ctx.services;
    const update = () => {
      const selection = this.current();
      if (JSON.stringify(selection) !== JSON.stringify(this.state.selection)) this.set({ selection });
    };
    const subs = [
      viewportGridService.subscribe(viewportGridService.EVENTS.ACTIVE_VIEWPORT_ID_CHANGED, update),
      viewportGridService.subscribe(viewportGridService.EVENTS.GRID_STATE_CHANGED, update),
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, update),
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_CHANGED, update),
    ];
    update();
    return () => subs.forEach((s) => s.unsubscribe());
  }

  /** A series name for lists: its description and number, else the end of its UID. */
  seriesName(seriesInstanceUID: string): string {
    const ds = this.ctx.services.displaySetService.getDisplaySetsForSeries(seriesInstanceUID)[0];
    return ds ? describeSeries(ds) : `series …${seriesInstanceUID.slice(-10)}`;
  }
}

export function noSeries(): ViewerError {
  return new ViewerError('no_series', 'The active viewport shows no image series.', {
    hint: 'Click a viewport that shows an image series, or drag one into it.',
  });
}

export function describeSeries(ds: DisplaySet): string {
  const number = ds.SeriesNumber !== undefined && ds.SeriesNumber !== '' ? `S${ds.SeriesNumber} ` : '';
  return `${number}${ds.SeriesDescription || ds.Modality}`.trim();
}

/** Image series of a study, one display set per series, in the order OHIF lists them. */
export function imageSeriesOf(ctx: OhifContext, studyInstanceUID: string): DisplaySet[] {
  const seen = new Set<string>();
  return ctx.services.displaySetService.getActiveDisplaySets().filter((ds) => {
    if (ds.StudyInstanceUID !== studyInstanceUID || ds.isOverlayDisplaySet || NON_IMAGE.has(ds.Modality))
      return false;
    if (!ds.imageIds?.length || seen.has(ds.SeriesInstanceUID)) return false;
    seen.add(ds.SeriesInstanceUID);
    return true;
  });
}
