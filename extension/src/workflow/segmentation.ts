/**
 * Panel section 5 and the toolbar button: segmenting the active series (or its whole study) with the
 * project's latest model, showing the stored SEG as an overlay, its segments' visibility, "Label next",
 * and the user's corrections of the result (the labelmap OHIF's brush then edits).
 */
import type { Project, SegmentResult } from '@nnsam/server/api';

import type { NnsamApi } from '../api/client.js';
import { followJob } from '../api/sse.js';
import type { NnsamViewerConfig } from '../config.js';
import { errorText, ViewerError } from '../errors.js';
import { activeViewportId, imageDisplaySetOf } from '../labelmap/collect.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet, Segmentation } from '../ohif/types.js';
import { CorrectionTracker } from '../seg/corrections.js';
import { jumpToImage, showSeg } from '../seg/show.js';
import { isOver, progressFraction, type JobRun } from './job-run.js';
import type { Notices } from './notices.js';
import { imageSeriesOf, noSeries } from './selection.js';
import { Store } from './store.js';

export interface ShownSegment {
  number: number;
  label: string;
  color?: [number, number, number];
  visible: boolean;
}

export interface ShownResult {
  segmentationId: string;
  viewportId: string;
  segSeriesInstanceUID: string;
  segments: ShownSegment[];
  /** The slices the model is least sure of, worst first (the result's uncertainty; empty before it) */
  labelNext: Array<{ index: number; sopInstanceUID: string; score: number }>;
  /** Slices of the result the user changed with OHIF's tools since it was shown (or last added) */
  corrected: CorrectedSlice[];
}

export interface CorrectedSlice {
  sopInstanceUID: string;
  /**
   * What OHIF's viewport overlay shows as "I:n". Not a slice number: OHIF may order a series the other way
   * round from the server (the phantom's slice 5 is OHIF's 16/20), and the server's numbers are known only
   * once the slices are added.
   */
  instanceNumber: number | null;
}

export interface SegmentRun extends JobRun {
  scope: 'series' | 'study';
  /** series segmented so far / to segment */
  done: number;
  total: number;
  /** SEG series the server stored, in order */
  stored: string[];
  shown: ShownResult | null;
}

/** The nnSAM result the user is correcting, and what follows their edits of it. */
export interface CorrectionTarget {
  segmentation: Segmentation;
  tracker: CorrectionTracker;
}

export interface SegmentationState {
  run: SegmentRun | null;
}

export interface SegmentationDeps {
  /** resolves once the server was checked and the projects loaded (the toolbar may click first) */
  start(): Promise<void>;
  project(): Project | undefined;
  requireProject(): Project;
}

export class SegmentationStore extends Store<SegmentationState> {
  /** follows the user's edits of the result on screen (one at a time: the latest shown) */
  private corrections: CorrectionTracker | null = null;

  constructor(
    private readonly ctx: OhifContext,
    private readonly api: Pick<NnsamApi, 'segment' | 'job' | 'jobEvents'>,
    private readonly config: NnsamViewerConfig['segmentation'],
    private readonly notices: Notices,
    private readonly deps: SegmentationDeps,
  ) {
    super({ run: null });
  }

  private patchRun(patch: Partial<SegmentRun>): void {
    if (this.state.run) this.set({ run: { ...this.state.run, ...patch } });
  }

  get running(): boolean {
    return !!this.state.run && !isOver(this.state.run.state);
  }

  /** Whether the one-click button (and the panel's) can run, and why not. */
  availability(): { disabled: boolean; reason?: string } {
    const project = this.deps.project();
    if (!project) return { disabled: true, reason: 'Create or choose an nnSAM project first (nnSAM panel).' };
    if (!project.latestModelId)
      return { disabled: true, reason: `Train a model for "${project.name}" first.` };
    if (this.running) return { disabled: true, reason: 'Segmenting…' };
    return { disabled: false };
  }

  /**
   * Segments the active series (or every image series of its study) with the project's latest model, then
   * shows the SEG the server stored as an overlay on the active viewport. Resolves when it is on screen.
   */
  async segment(scope: 'series' | 'study' = 'series'): Promise<SegmentRun> {
    await this.deps.start();
    const project = this.deps.requireProject();
    const modelId = project.latestModelId;
    if (!modelId) {
      throw new ViewerError('no_model', `Project "${project.name}" has no trained model yet.`, {
        hint: 'Add labelled slices and press Train first.',
      });
    }
    if (this.running) {
      throw new ViewerError('already_segmenting', 'A segmentation is already running.', {
        hint: 'Wait for it to finish.',
      });
    }
    const viewportId = activeViewportId(this.ctx);
    const active = imageDisplaySetOf(this.ctx, viewportId);
    if (!active?.imageIds?.length) throw noSeries();
    const series = scope === 'series' ? [active] : imageSeriesOf(this.ctx, active.StudyInstanceUID);
    this.set({
      run: {
        scope,
        jobId: null,
        state: 'starting',
        progress: null,
        fraction: null,
        error: null,
        done: 0,
        total: series.length,
        stored: [],
        shown: null,
      },
    });
    try {
      for (const [n, ds] of series.entries()) {
        const result = await this.segmentOne(modelId, ds);
        this.patchRun({ done: n + 1, stored: [...this.state.run!.stored, result.segSeriesInstanceUID] });
        if (ds.SeriesInstanceUID === active.SeriesInstanceUID) {
          this.patchRun({ shown: await this.show(result, viewportId) });
        }
      }
      this.patchRun({ state: 'succeeded', progress: null });
      this.notices.success(
        'nnSAM: segmentation done',
        `${series.length === 1 ? 'The SEG is' : `${series.length} SEGs are`} stored in the PACS and shown as an overlay.`,
      );
      return this.state.run!;
    } catch (e) {
      this.patchRun({ state: 'failed', error: errorText(e) });
      throw e;
    }
  }

  private async segmentOne(modelId: string, ds: DisplaySet): Promise<SegmentResult> {
    const queued = await this.api.segment({
      modelId,
      studyInstanceUID: ds.StudyInstanceUID,
      seriesInstanceUID: ds.SeriesInstanceUID,
      store: true,
      returnSeg: false,
      ...(this.config.tta !== undefined ? { tta: this.config.tta } : {}),
    });
    this.patchRun({ jobId: queued.id, state: queued.state, progress: null, fraction: null });
    const final = await followJob((after, signal) => this.api.jobEvents(queued.id, after, signal), {
      onEvent: (e) => {
        if (e.type === 'state') this.patchRun({ state: e.state });
        else if (e.type === 'progress')
          this.patchRun({ progress: e.progress, fraction: progressFraction(e.progress) });
      },
    });
    const job = await this.api.job(queued.id);
    if (final !== 'succeeded') {
      const error = job.error ?? { code: final, message: `The segmentation job ended ${final}.` };
      throw new ViewerError(error.code, error.message, { hint: error.hint ?? 'Press Segment again.' });
    }
    const result = job.kind === 'segment' ? job.result : null;
    if (!result?.segSeriesInstanceUID) {
      throw new ViewerError('bad_response', `Segmentation job ${job.id} succeeded without a SEG.`);
    }
    return result;
  }

  private async show(result: SegmentResult, viewportId: string): Promise<ShownResult> {
    const shown = await showSeg(this.ctx, {
      StudyInstanceUID: result.studyInstanceUID,
      SeriesInstanceUID: result.segSeriesInstanceUID,
      viewportId,
    });
    const { segmentationService } = this.ctx.services;
    const segmentation = segmentationService.getSegmentation(shown.segmentationId);
    this.trackCorrections(shown.segmentationId, shown.viewportId);
    const segments = Object.values(segmentation?.segments ?? {})
      .filter((s): s is NonNullable<typeof s> => !!s)
      .map((s) => {
        const rgba = segmentationService.getSegmentColor(
          shown.viewportId,
          shown.segmentationId,
          s.segmentIndex,
        );
        return {
          number: s.segmentIndex,
          label: s.label,
          ...(rgba ? { color: [rgba[0]!, rgba[1]!, rgba[2]!] as [number, number, number] } : {}),
          visible: true,
        };
      });
    return {
      segmentationId: shown.segmentationId,
      viewportId: shown.viewportId,
      segSeriesInstanceUID: result.segSeriesInstanceUID,
      segments,
      labelNext: (result.uncertainty?.labelNext ?? []).map(({ index, sopInstanceUID, score }) => ({
        index,
        sopInstanceUID,
        score,
      })),
      corrected: [],
    };
  }

  /**
   * Makes the result the labelmap OHIF's brush edits (active segmentation of its viewport, first segment
   * active: a loaded SEG has none) and follows which of its slices the user changes.
   */
  private trackCorrections(segmentationId: string, viewportId: string): void {
    const { segmentationService } = this.ctx.services;
    this.corrections?.stop();
    segmentationService.setActiveSegmentation(viewportId, segmentationId);
    const segments = segmentationService.getSegmentation(segmentationId)?.segments ?? {};
    const first = Object.values(segments).find((s) => !!s)?.segmentIndex;
    if (first !== undefined) segmentationService.setActiveSegment(segmentationId, first);
    const tracker = new CorrectionTracker(this.ctx, segmentationId, (imageIds) => {
      const shown = this.state.run?.shown;
      if (shown?.segmentationId !== segmentationId) return;
      this.patchRun({ shown: { ...shown, corrected: this.describeSlices(imageIds) } });
    });
    tracker.start();
    this.corrections = tracker;
  }

  /** Source image ids -> SOP Instance UID and instance number. */
  private describeSlices(imageIds: string[]): CorrectedSlice[] {
    const { metaData } = this.ctx.cornerstone();
    return imageIds.map((id) => {
      const instance = metaData.get('instance', id);
      const number = Number(instance?.InstanceNumber);
      return {
        sopInstanceUID: String(instance?.SOPInstanceUID ?? ''),
        instanceNumber: Number.isFinite(number) && instance?.InstanceNumber !== '' ? number : null,
      };
    });
  }

  /**
   * The nnSAM result the user is correcting: the one tracked, when it is the active segmentation of the
   * active viewport (a labelmap the user made is handled as before when they make it active again).
   */
  correctionTarget(): CorrectionTarget | undefined {
    const tracker = this.corrections;
    if (!tracker) return undefined;
    const { segmentationService, viewportGridService } = this.ctx.services;
    const viewportId = viewportGridService.getActiveViewportId();
    const active = viewportId ? segmentationService.getActiveSegmentation(viewportId) : undefined;
    if (active?.segmentationId !== tracker.segmentationId) return undefined;
    return { segmentation: active, tracker };
  }

  /** Scrolls the viewport of the last overlay to the image of a suggested slice ("Label next"). */
  async jumpToSlice(sopInstanceUID: string): Promise<void> {
    const shown = this.state.run?.shown;
    if (!shown) return;
    await jumpToImage(this.ctx, shown.viewportId, sopInstanceUID);
  }

  /** Shows or hides one segment of the overlay the last segmentation put on screen. */
  toggleSegment(number: number): void {
    const shown = this.state.run?.shown;
    const segment = shown?.segments.find((s) => s.number === number);
    if (!shown || !segment) return;
    const visible = !segment.visible;
    this.ctx.services.segmentationService.setSegmentVisibility(
      shown.viewportId,
      shown.segmentationId,
      number,
      visible,
    );
    this.patchRun({
      shown: { ...shown, segments: shown.segments.map((s) => (s.number === number ? { ...s, visible } : s)) },
    });
  }
}
