/**
 * The nnSAM workflow behind the panel, the toolbar button and the commands: server status, projects and
 * classes, the training set, training and segmentation jobs with their event streams. One instance per
 * viewer (the panel comes and goes with OHIF's tabs; a training run it started goes on being followed).
 *
 * Actions throw a ViewerError (what went wrong, what to do) after recording it in the state of the section
 * concerned; callers report it as an OHIF notification (`runReported`, or the commands module). Work that
 * goes on in the background (following a training job) reports its own failures. Nothing is swallowed.
 */
import type {
  ClassDef,
  Example,
  ExampleCreate,
  Health,
  Info,
  Job,
  JobEvent,
  JobProgress,
  JobState,
  LabelmapPayload,
  Model,
  Project,
  SegmentResult,
  TrainMetrics,
} from '@nnsam/server/api';

import type { NnsamApi } from '../api/client.js';
import { followJob, TERMINAL } from '../api/sse.js';
import type { NnsamViewerConfig } from '../config.js';
import { errorText, notifyError, ViewerError } from '../errors.js';
import { activeViewportId, collectLabelmap, currentSlice, imageDisplaySetOf } from '../labelmap/collect.js';
import { buildLabelmapPayload } from '../labelmap/payload.js';
import { createLabelmap } from '../labelmap/create.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet, Segmentation } from '../ohif/types.js';
import { CorrectionTracker } from '../seg/corrections.js';
import { jumpToImage, showSeg } from '../seg/show.js';
import { addMetrics, type CurvePoint } from './curve.js';

export interface ErrorText {
  message: string;
  hint?: string;
}

export type ServerState =
  | { kind: 'checking' }
  | { kind: 'ok'; health: Health; info: Info | null; infoError: ErrorText | null }
  | { kind: 'error'; message: string; hint?: string };

/** A job as the panel shows it. `starting`: the request is on its way. */
export interface JobRun {
  jobId: string | null;
  state: JobState | 'starting';
  progress: JobProgress | null;
  /** 0..1 of the current stage (training: of the budget), when known */
  fraction: number | null;
  error: ErrorText | null;
}

export interface TrainRun extends JobRun {
  projectId: string;
  curve: CurvePoint[];
}

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

/** The series in the active viewport, and SEGs loaded in the viewer that label it. */
export interface ViewerSelection {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  description: string;
  segs: Array<{ seriesInstanceUID: string; description: string }>;
}

export interface WorkflowState {
  server: ServerState;
  projects: Project[];
  projectsError: ErrorText | null;
  projectId: string | null;
  examples: Example[];
  /** the labelmap made by "Start labelling" (segments = the project's classes) */
  paintSegmentationId: string | null;
  /** the labelled slices found by the last "Check" or "Add" */
  detected: LabelmapPayload | null;
  labelsError: ErrorText | null;
  adding: boolean;
  train: TrainRun | null;
  model: Model | null;
  segment: SegmentRun | null;
  selection: ViewerSelection | null;
}

const INITIAL: WorkflowState = {
  server: { kind: 'checking' },
  projects: [],
  projectsError: null,
  projectId: null,
  examples: [],
  paintSegmentationId: null,
  detected: null,
  labelsError: null,
  adding: false,
  train: null,
  model: null,
  segment: null,
  selection: null,
};

const PROJECT_KEY = 'nnsam.projectId';
const NON_IMAGE = new Set(['SEG', 'RTSTRUCT', 'SR', 'PR', 'KO', 'RWV', 'DOC']);

export class Workflow {
  private current: WorkflowState = INITIAL;
  private readonly listeners = new Set<(s: WorkflowState) => void>();
  private trainFollower: AbortController | null = null;
  private started: Promise<void> | null = null;
  private attached = 0;
  private poll: ReturnType<typeof setInterval> | null = null;
  private viewerSubscriptions: Array<() => void> = [];
  /** follows the user's edits of the result on screen (one at a time: the latest shown) */
  private corrections: CorrectionTracker | null = null;

  constructor(
    readonly ctx: OhifContext,
    readonly api: NnsamApi,
    readonly config: NnsamViewerConfig,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | undefined = safeLocalStorage(),
  ) {}

  get state(): WorkflowState {
    return this.current;
  }

  /** Bound, so React's useSyncExternalStore can take it as is. */
  readonly subscribe = (listener: (s: WorkflowState) => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  readonly getState = (): WorkflowState => this.current;

  private set(patch: Partial<WorkflowState>): void {
    const before = this.current;
    this.current = { ...before, ...patch };
    for (const l of this.listeners) l(this.current);
    if (toolbarKey(before) !== toolbarKey(this.current)) this.refreshToolbar();
  }

  private patchTrain(jobId: string | null, patch: Partial<TrainRun>): void {
    const t = this.current.train;
    if (!t || (jobId !== null && t.jobId !== jobId)) return; // a run the panel no longer shows
    this.set({ train: { ...t, ...patch } });
  }

  private patchSegment(patch: Partial<SegmentRun>): void {
    if (this.current.segment) this.set({ segment: { ...this.current.segment, ...patch } });
  }

  /** Shows an error as an OHIF notification (title, message, hint). */
  report(title: string, e: unknown): ErrorText {
    notifyError(this.ctx.services.uiNotificationService, title, e);
    return errorText(e);
  }

  private notify(title: string, message: string): void {
    this.ctx.services.uiNotificationService.show({ title, message, type: 'success', duration: 6000 });
  }

  // --- lifecycle ------------------------------------------------------------------------------------

  /** First call: checks the server and loads the projects (later calls return the same promise). */
  start(): Promise<void> {
    this.started ??= this.checkServer();
    return this.started;
  }

  /** The panel is on screen: poll the server's health and follow the viewer's selection. */
  attach(pollMs = 15_000): () => void {
    if (this.attached++ === 0) {
      void this.start();
      this.poll = setInterval(() => void this.checkServer(), pollMs);
      this.watchViewer();
    }
    return () => {
      if (--this.attached > 0) return;
      if (this.poll) clearInterval(this.poll);
      this.poll = null;
      this.viewerSubscriptions.forEach((u) => u());
      this.viewerSubscriptions = [];
    };
  }

  // --- 1. server ------------------------------------------------------------------------------------

  /** Health (no auth), then info (device, encoders, auth mode). Reports a change for the worse once. */
  async checkServer(): Promise<void> {
    const before = this.current.server;
    if (before.kind !== 'ok') this.set({ server: { kind: 'checking' } });
    let health: Health;
    try {
      health = await this.api.health();
    } catch (e) {
      const text = errorText(e);
      if (before.kind !== 'error' || before.message !== text.message)
        this.report('nnSAM server unreachable', e);
      this.set({ server: { kind: 'error', ...text } });
      return;
    }
    let info: Info | null = null;
    let infoError: ErrorText | null = null;
    try {
      info = await this.api.info();
    } catch (e) {
      infoError = errorText(e);
      const previous = before.kind === 'ok' ? before.infoError : null;
      if (previous?.message !== infoError.message) this.report('nnSAM: the server refuses this viewer', e);
    }
    this.set({ server: { kind: 'ok', health, info, infoError } });
    // (re)load projects when the server (or access to it) just became available; loadProjects reports
    // its own failure as a notification and in the panel
    if (!infoError && (before.kind !== 'ok' || before.infoError))
      await this.loadProjects().catch(() => undefined);
  }

  // --- 2. projects and classes ---------------------------------------------------------------------

  get project(): Project | undefined {
    return this.current.projects.find((p) => p.id === this.current.projectId);
  }

  /** Lists the projects and selects the last one used here (or the first). Reports its own failure. */
  async loadProjects(): Promise<void> {
    try {
      const projects = await this.api.projects();
      const stored = this.storage?.getItem(PROJECT_KEY);
      const pick =
        projects.find((p) => p.id === this.current.projectId) ??
        projects.find((p) => p.id === stored) ??
        projects[0];
      this.set({ projects, projectsError: null });
      await this.selectProject(pick?.id ?? null);
    } catch (e) {
      this.set({ projectsError: this.report('nnSAM: cannot load the projects', e) });
      throw e;
    }
  }

  async selectProject(projectId: string | null): Promise<void> {
    const changed = projectId !== this.current.projectId;
    if (changed) {
      this.trainFollower?.abort();
      this.trainFollower = null;
      this.set({ projectId, examples: [], model: null, train: null, detected: null, labelsError: null });
      if (projectId) this.storage?.setItem(PROJECT_KEY, projectId);
    }
    if (!projectId) return;
    const project = this.project!;
    const [examples, model, jobs] = await Promise.all([
      this.api.examples(projectId),
      project.latestModelId ? this.api.model(project.latestModelId) : Promise.resolve(null),
      this.api.jobs({ projectId, kind: 'train', limit: 1 }),
    ]);
    if (this.current.projectId !== projectId) return;
    this.set({ examples, model });
    // a training run still going (started earlier, in this page or another): follow it again
    const running = jobs[0];
    if (running && !TERMINAL.includes(running.state) && this.current.train?.jobId !== running.id) {
      this.set({ train: this.newTrainRun(projectId, running) });
      this.followTraining(running.id);
    }
  }

  async createProject(name: string, classes: ClassDef[]): Promise<Project> {
    const project = await this.api.createProject({ name, classes });
    this.set({ projects: [...this.current.projects.filter((p) => p.id !== project.id), project] });
    await this.selectProject(project.id);
    this.notify('nnSAM', `Project "${project.name}" created with ${classes.length} classes.`);
    return project;
  }

  /** Creates a labelmap on the active series whose segments are the project's classes. */
  async startLabelling(): Promise<string> {
    const project = this.requireProject();
    const created = await createLabelmap(this.ctx, {
      classes: project.classes,
      label: `nnSAM · ${project.name}`,
    });
    this.set({ paintSegmentationId: created.segmentationId });
    return created.segmentationId;
  }

  /**
   * Makes a class the segment the brush paints with: on the nnSAM result when the user is correcting it
   * (it is the active segmentation), else on the labelmap "Start labelling" made.
   */
  selectClass(value: number): void {
    const { segmentationService } = this.ctx.services;
    const correcting = this.correctionTarget();
    if (correcting) {
      const index = segmentIndexOfClass(correcting.segmentation, this.requireProject(), value);
      segmentationService.setActiveSegment(correcting.segmentation.segmentationId, index);
      return;
    }
    const id = this.paintSegmentation();
    if (id) segmentationService.setActiveSegment(id, value);
  }

  // --- 3. labelled slices ---------------------------------------------------------------------------

  /**
   * Reads what "Add labelled slices" would send from the active series: the corrected slices when the
   * active segmentation is an nnSAM result the user is correcting (the rest of it is the model's guess,
   * not truth), else every labelled slice of the painted labelmap.
   */
  detect(): LabelmapPayload {
    try {
      const correcting = this.correctionTarget();
      const detected = correcting
        ? this.collectCorrections(correcting)
        : collectLabelmap(this.ctx, { segmentationId: this.paintSegmentation() });
      this.set({ detected, labelsError: null });
      return detected;
    } catch (e) {
      this.set({ detected: null, labelsError: errorText(e) });
      throw e;
    }
  }

  /** Sends the labelled (or corrected) slices of the active series to the project's training set. */
  async addLabelledSlices(): Promise<Example> {
    const project = this.requireProject();
    const tracker = this.correctionTarget()?.tracker;
    const sent = tracker?.correctedImageIds;
    const labelmap = this.detect();
    this.labelsStep(() => checkClasses(labelmap, project));
    const example = await this.sendLabelmap(project, labelmap, (example) => {
      const n = example.labelledSlices.length;
      return `Added ${n} ${tracker ? 'corrected' : 'labelled'} slice${n === 1 ? '' : 's'} to "${project.name}".`;
    });
    // what was added is in the training set: only new corrections count from here on
    tracker?.reset(sent);
    return example;
  }

  /** The corrected slices of the nnSAM result, with the project's class values (by segment name). */
  private collectCorrections({
    segmentation,
    tracker,
  }: {
    segmentation: Segmentation;
    tracker: CorrectionTracker;
  }): LabelmapPayload {
    const shown = this.current.segment?.shown;
    if (!tracker.correctedImageIds.length) {
      throw new ViewerError('no_corrections', 'No slice of the nnSAM result has been corrected yet.', {
        hint:
          "Paint or erase on a slice of the result with OHIF's brush (Label next > Go shows the slices the model is least sure of), then add it. " +
          "To add labels you painted yourself instead, make that segmentation the active one in OHIF's segmentation panel.",
      });
    }
    const project = this.project;
    return collectLabelmap(this.ctx, {
      viewportId: shown?.viewportId,
      segmentationId: segmentation.segmentationId,
      onlyImageIds: tracker.correctedImageIds,
      ...(project ? { labelValues: classValuesOfSegments(segmentation, project) } : {}),
    });
  }

  /**
   * One click for a negative: the slice the active viewport shows has none of the project's classes. It
   * becomes a labelled slice whose labels are all background, so the model learns where the structures
   * are not (slices the user never touches stay unlabelled, not background).
   */
  async addEmptySlice(): Promise<Example> {
    const project = this.requireProject();
    const labelmap = this.labelsStep(() => {
      const { displaySet, slice } = currentSlice(this.ctx, activeViewportId(this.ctx));
      return buildLabelmapPayload({
        studyInstanceUID: displaySet.StudyInstanceUID,
        seriesInstanceUID: displaySet.SeriesInstanceUID,
        slices: [slice],
      });
    });
    return this.sendLabelmap(
      project,
      labelmap,
      (example) =>
        `Added slice ${(example.labelledSlices[0] ?? 0) + 1} to "${project.name}" as showing none of the classes.`,
    );
  }

  /**
   * The series on screen as an example without labels (say, the one about to be segmented): nobody paints
   * it, and training that learns from unlabelled slices learns from its images.
   */
  async addSeriesUnlabelled(): Promise<Example> {
    const project = this.requireProject();
    const selection = this.labelsStep(() => this.requireSelection());
    return this.sendExample(
      project,
      {
        studyInstanceUID: selection.studyInstanceUID,
        seriesInstanceUID: selection.seriesInstanceUID,
        source: { kind: 'image' },
      },
      () => `Added ${selection.description} to "${project.name}" unlabelled (images only).`,
    );
  }

  /** Sends a SEG series already in the PACS (and loaded in the viewer) as a training example. */
  async addSeg(segSeriesInstanceUID: string): Promise<Example> {
    const project = this.requireProject();
    const selection = this.requireSelection();
    return this.sendExample(
      project,
      {
        studyInstanceUID: selection.studyInstanceUID,
        seriesInstanceUID: selection.seriesInstanceUID,
        source: { kind: 'seg', segSeriesInstanceUID },
      },
      (example) => `Added the SEG (${example.labelledSlices.length} labelled slices) to "${project.name}".`,
    );
  }

  /** A synchronous step of the labels section: its failure shows there and still reaches the caller. */
  private labelsStep<T>(step: () => T): T {
    try {
      return step();
    } catch (e) {
      this.set({ labelsError: errorText(e) });
      throw e;
    }
  }

  /** Adds a labelmap as an example of the series it was painted on. */
  private sendLabelmap(
    project: Project,
    labelmap: LabelmapPayload,
    message: (example: Example) => string,
  ): Promise<Example> {
    const { studyInstanceUID, seriesInstanceUID } = labelmap;
    return this.sendExample(
      project,
      { studyInstanceUID, seriesInstanceUID, source: { kind: 'labelmap', labelmap } },
      message,
    );
  }

  /** Adds one example, refreshes the training-set list and says so; a failure shows in the labels section. */
  private async sendExample(
    project: Project,
    body: ExampleCreate,
    message: (example: Example) => string,
  ): Promise<Example> {
    try {
      this.set({ adding: true });
      const example = await this.api.addExample(project.id, body);
      await this.reloadExamples(project.id);
      this.set({ labelsError: null });
      this.notify('nnSAM', message(example));
      return example;
    } catch (e) {
      this.set({ labelsError: errorText(e) });
      throw e;
    } finally {
      this.set({ adding: false });
    }
  }

  async removeExample(exampleId: string): Promise<void> {
    const project = this.requireProject();
    await this.api.removeExample(project.id, exampleId);
    await this.reloadExamples(project.id);
  }

  private async reloadExamples(projectId: string): Promise<void> {
    const examples = await this.api.examples(projectId);
    if (this.current.projectId === projectId) this.set({ examples });
  }

  // --- 4. training ----------------------------------------------------------------------------------

  /** Queues training for the project; its events are followed in the background. */
  async train(options: { minutes: number; encoder: string }): Promise<Job> {
    const project = this.requireProject();
    if (!this.current.examples.length) {
      throw new ViewerError('no_examples', `Project "${project.name}" has no training examples yet.`, {
        hint: 'Paint a few slices and press "Add labelled slices" first.',
      });
    }
    if (!hasLabelledSlices(this.current.examples)) {
      throw new ViewerError(
        'no_labelled_slices',
        `Project "${project.name}" has only unlabelled series (images only); training needs at least one labelled slice.`,
        { hint: 'Paint a few slices and press "Add labelled slices" first.' },
      );
    }
    if (this.current.train && !isOver(this.current.train.state)) {
      throw new ViewerError('already_training', `Project "${project.name}" is already training.`, {
        hint: 'Wait for it to finish, or cancel it.',
      });
    }
    this.set({ train: { ...this.newTrainRun(project.id, null), state: 'starting' } });
    try {
      const job = await this.api.train(project.id, {
        minutes: options.minutes,
        encoder: options.encoder,
        ...(this.config.training.maxIterations ? { maxIterations: this.config.training.maxIterations } : {}),
      });
      this.patchTrain(null, { jobId: job.id, state: job.state });
      this.followTraining(job.id);
      return job;
    } catch (e) {
      this.patchTrain(null, { state: 'failed', error: errorText(e) });
      throw e;
    }
  }

  async cancelTraining(): Promise<void> {
    const jobId = this.current.train?.jobId;
    if (!jobId) throw new ViewerError('nothing_to_cancel', 'No training is running.');
    await this.api.cancelJob(jobId);
  }

  private newTrainRun(projectId: string, job: Job | null): TrainRun {
    return {
      projectId,
      jobId: job?.id ?? null,
      state: job?.state ?? 'queued',
      progress: job?.progress ?? null,
      fraction: null,
      error: null,
      curve: [],
    };
  }

  private followTraining(jobId: string): void {
    this.trainFollower?.abort();
    const follower = new AbortController();
    this.trainFollower = follower;
    void (async () => {
      try {
        const final = await followJob((after, signal) => this.api.jobEvents(jobId, after, signal), {
          signal: follower.signal,
          onEvent: (e) => this.onTrainEvent(jobId, e),
        });
        await this.trainingEnded(jobId, final);
      } catch (e) {
        if (follower.signal.aborted) return;
        this.patchTrain(jobId, { error: this.report('nnSAM: training', e) });
      }
    })();
  }

  private onTrainEvent(jobId: string, e: JobEvent): void {
    const t = this.current.train;
    if (!t || t.jobId !== jobId) return;
    if (e.type === 'state') {
      this.patchTrain(jobId, { state: e.state, ...(e.error ? { error: e.error } : {}) });
    } else if (e.type === 'progress') {
      const p = e.progress;
      const fraction = p.total
        ? Math.min(1, (p.done ?? 0) / p.total)
        : p.stage === t.progress?.stage
          ? t.fraction
          : null;
      this.patchTrain(jobId, { progress: p, fraction });
    } else {
      const m: TrainMetrics = e.metrics;
      this.patchTrain(jobId, {
        curve: addMetrics(t.curve, m),
        ...(typeof m.fraction === 'number' ? { fraction: m.fraction } : {}),
      });
    }
  }

  private async trainingEnded(jobId: string, final: JobState): Promise<void> {
    const job = await this.api.job(jobId);
    if (final === 'succeeded') {
      const modelId = job.kind === 'train' ? job.result?.modelId : undefined;
      if (!modelId) throw new ViewerError('bad_response', `Training job ${jobId} succeeded without a model.`);
      const model = await this.api.model(modelId);
      const projects = await this.api.projects();
      if (this.current.train?.jobId === jobId) this.set({ model, projects });
      const dice = model.metrics.bestValDice;
      this.notify(
        'nnSAM: model trained',
        `${model.name}${typeof dice === 'number' ? ` · validation Dice ${dice.toFixed(3)}` : ''}`,
      );
    } else if (final === 'failed' || final === 'interrupted') {
      const error =
        job.error ??
        ({ code: final, message: `Training ${final}.`, hint: 'Press Train again.' } as NonNullable<
          Job['error']
        >);
      const hint =
        final === 'interrupted'
          ? (error.hint ?? 'The server stopped while training; press Train again.')
          : error.hint;
      this.patchTrain(jobId, { error: { message: error.message, ...(hint ? { hint } : {}) } });
      this.report(`nnSAM: training ${final}`, new ViewerError(error.code, error.message, { hint }));
    }
  }

  // --- 5. segmentation ------------------------------------------------------------------------------

  /** Whether the one-click button can run, and why not. */
  segmentAvailability(): { disabled: boolean; reason?: string } {
    const project = this.project;
    if (!project) return { disabled: true, reason: 'Create or choose an nnSAM project first (nnSAM panel).' };
    if (!project.latestModelId)
      return { disabled: true, reason: `Train a model for "${project.name}" first.` };
    if (this.current.segment && !isOver(this.current.segment.state))
      return { disabled: true, reason: 'Segmenting…' };
    return { disabled: false };
  }

  /**
   * Segments the active series (or every image series of its study) with the project's latest model, then
   * shows the SEG the server stored as an overlay on the active viewport. Resolves when it is on screen.
   */
  async segment(scope: 'series' | 'study' = 'series'): Promise<SegmentRun> {
    await this.start();
    const project = this.requireProject();
    const modelId = project.latestModelId;
    if (!modelId) {
      throw new ViewerError('no_model', `Project "${project.name}" has no trained model yet.`, {
        hint: 'Add labelled slices and press Train first.',
      });
    }
    if (this.current.segment && !isOver(this.current.segment.state)) {
      throw new ViewerError('already_segmenting', 'A segmentation is already running.', {
        hint: 'Wait for it to finish.',
      });
    }
    const viewportId = activeViewportId(this.ctx);
    const active = imageDisplaySetOf(this.ctx, viewportId);
    if (!active?.imageIds?.length) throw noSeries();
    const series = scope === 'series' ? [active] : imageSeriesOf(this.ctx, active.StudyInstanceUID);
    this.set({
      segment: {
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
        this.patchSegment({
          done: n + 1,
          stored: [...this.current.segment!.stored, result.segSeriesInstanceUID],
        });
        if (ds.SeriesInstanceUID === active.SeriesInstanceUID) {
          this.patchSegment({ shown: await this.show(result, viewportId) });
        }
      }
      this.patchSegment({ state: 'succeeded', progress: null });
      this.notify(
        'nnSAM: segmentation done',
        `${series.length === 1 ? 'The SEG is' : `${series.length} SEGs are`} stored in the PACS and shown as an overlay.`,
      );
      return this.current.segment!;
    } catch (e) {
      this.patchSegment({ state: 'failed', error: errorText(e) });
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
      ...(this.config.segmentation.tta !== undefined ? { tta: this.config.segmentation.tta } : {}),
    });
    this.patchSegment({ jobId: queued.id, state: queued.state, progress: null, fraction: null });
    const final = await followJob((after, signal) => this.api.jobEvents(queued.id, after, signal), {
      onEvent: (e) => {
        if (e.type === 'state') this.patchSegment({ state: e.state });
        else if (e.type === 'progress') {
          const p = e.progress;
          this.patchSegment({ progress: p, fraction: p.total ? Math.min(1, (p.done ?? 0) / p.total) : null });
        }
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
      const shown = this.current.segment?.shown;
      if (shown?.segmentationId !== segmentationId) return;
      this.patchSegment({ shown: { ...shown, corrected: this.describeSlices(imageIds) } });
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
  private correctionTarget(): { segmentation: Segmentation; tracker: CorrectionTracker } | undefined {
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
    const shown = this.current.segment?.shown;
    if (!shown) return;
    await jumpToImage(this.ctx, shown.viewportId, sopInstanceUID);
  }

  /** Shows or hides one segment of the overlay the last segmentation put on screen. */
  toggleSegment(number: number): void {
    const shown = this.current.segment?.shown;
    const segment = shown?.segments.find((s) => s.number === number);
    if (!shown || !segment) return;
    const visible = !segment.visible;
    this.ctx.services.segmentationService.setSegmentVisibility(
      shown.viewportId,
      shown.segmentationId,
      number,
      visible,
    );
    this.patchSegment({
      shown: { ...shown, segments: shown.segments.map((s) => (s.number === number ? { ...s, visible } : s)) },
    });
  }

  // --- viewer selection -----------------------------------------------------------------------------

  /** The active viewport's series and the loaded SEGs that label it. */
  selection(): ViewerSelection | null {
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

  private watchViewer(): void {
    const { viewportGridService, displaySetService } = this.ctx.services;
    const update = () => {
      const selection = this.selection();
      if (JSON.stringify(selection) !== JSON.stringify(this.current.selection)) this.set({ selection });
    };
    const subs = [
      viewportGridService.subscribe(viewportGridService.EVENTS.ACTIVE_VIEWPORT_ID_CHANGED, update),
      viewportGridService.subscribe(viewportGridService.EVENTS.GRID_STATE_CHANGED, update),
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_ADDED, update),
      displaySetService.subscribe(displaySetService.EVENTS.DISPLAY_SETS_CHANGED, update),
    ];
    this.viewerSubscriptions.push(...subs.map((s) => () => s.unsubscribe()));
    update();
  }

  /** A series name for lists: its description and number, else the end of its UID. */
  seriesName(seriesInstanceUID: string): string {
    const ds = this.ctx.services.displaySetService.getDisplaySetsForSeries(seriesInstanceUID)[0];
    return ds ? describeSeries(ds) : `series …${seriesInstanceUID.slice(-10)}`;
  }

  // --- helpers --------------------------------------------------------------------------------------

  private requireProject(): Project {
    const project = this.project;
    if (!project) {
      throw new ViewerError('no_project', 'No nnSAM project is selected.', {
        hint: 'Create a project with its classes in the nnSAM panel (section "Project").',
      });
    }
    return project;
  }

  private requireSelection(): ViewerSelection {
    const selection = this.selection();
    if (!selection) throw noSeries();
    return selection;
  }

  /** The labelmap "Start labelling" made, if it still exists and is on the active viewport. */
  private paintSegmentation(): string | undefined {
    const id = this.current.paintSegmentationId;
    if (!id) return undefined;
    const { segmentationService, viewportGridService } = this.ctx.services;
    const viewportId = viewportGridService.getActiveViewportId();
    if (!segmentationService.getSegmentation(id) || !viewportId) return undefined;
    const onViewport = segmentationService.getSegmentationRepresentations(viewportId, { segmentationId: id });
    return onViewport.length ? id : undefined;
  }

  private refreshToolbar(): void {
    const { toolbarService, viewportGridService } = this.ctx.services;
    toolbarService?.refreshToolbarState({ viewportId: viewportGridService.getActiveViewportId() });
  }
}

/** Runs a UI action; a failure becomes an OHIF notification under `title` (and is not rethrown). */
export async function runReported<T>(
  workflow: Workflow,
  title: string,
  action: () => T | Promise<T>,
): Promise<T | undefined> {
  try {
    return await action();
  } catch (e) {
    workflow.report(title, e);
    return undefined;
  }
}

/** Label values the project does not have are refused here, naming them (the server would too). */
export function checkClasses(labelmap: LabelmapPayload, project: Project): void {
  const known = new Set(project.classes.map((c) => c.value));
  const unknown = (labelmap.segments ?? []).filter((s) => !known.has(s.labelValue));
  if (unknown.length) {
    throw new ViewerError(
      'unknown_class',
      `The labels use segment ${unknown.map((s) => `${s.labelValue} ("${s.label}")`).join(', ')}, which project "${project.name}" does not have (its classes: ${project.classes.map((c) => `${c.value} ${c.name}`).join(', ')}).`,
      {
        hint: 'Press "Start labelling" in the nnSAM panel: its segments are the project\'s classes. Or delete the extra segments.',
      },
    );
  }
}

/**
 * Segment index -> class value for an nnSAM result: its SEG numbers the segments 1..n in class order and
 * names them after the classes, so a project with classes 1 and 3 gets segments 1 and 2. Matched by name,
 * as the server matches a SEG's segments; a segment that is no class is refused, naming it.
 */
export function classValuesOfSegments(segmentation: Segmentation, project: Project): Record<number, number> {
  const byName = new Map(project.classes.map((c) => [c.name.trim().toLowerCase(), c.value]));
  const values: Record<number, number> = {};
  for (const segment of Object.values(segmentation.segments)) {
    if (!segment) continue;
    const value = byName.get(segment.label.trim().toLowerCase());
    if (value === undefined) {
      throw new ViewerError(
        'unknown_class',
        `Segment ${segment.segmentIndex} ("${segment.label}") of "${segmentation.label}" is not a class of project "${project.name}" (its classes: ${project.classes.map((c) => c.name).join(', ')}).`,
        { hint: 'Correct the result with its own segments only, or delete the extra segment.' },
      );
    }
    values[segment.segmentIndex] = value;
  }
  return values;
}

/** The segment of an nnSAM result that holds a class (the inverse of classValuesOfSegments). */
export function segmentIndexOfClass(segmentation: Segmentation, project: Project, value: number): number {
  const entry = Object.entries(classValuesOfSegments(segmentation, project)).find(([, v]) => v === value);
  if (!entry) {
    const name = project.classes.find((c) => c.value === value)?.name ?? `class ${value}`;
    throw new ViewerError('unknown_class', `"${segmentation.label}" has no segment for ${name}.`, {
      hint: 'Pick one of the segments it has, or segment the series again.',
    });
  }
  return Number(entry[0]);
}

/** Whether any example labels a slice: series added unlabelled alone teach no class (the server refuses). */
export function hasLabelledSlices(examples: Example[]): boolean {
  return examples.some((e) => e.labelledSlices.length > 0);
}

function isOver(state: JobState | 'starting'): boolean {
  return state !== 'starting' && TERMINAL.includes(state);
}

function noSeries(): ViewerError {
  return new ViewerError('no_series', 'The active viewport shows no image series.', {
    hint: 'Click a viewport that shows an image series, or drag one into it.',
  });
}

function describeSeries(ds: DisplaySet): string {
  const number = ds.SeriesNumber !== undefined && ds.SeriesNumber !== '' ? `S${ds.SeriesNumber} ` : '';
  return `${number}${ds.SeriesDescription || ds.Modality}`.trim();
}

/** Image series of a study, one display set per series, in the order OHIF lists them. */
function imageSeriesOf(ctx: OhifContext, studyInstanceUID: string): DisplaySet[] {
  const seen = new Set<string>();
  return ctx.services.displaySetService.getActiveDisplaySets().filter((ds) => {
    if (ds.StudyInstanceUID !== studyInstanceUID || ds.isOverlayDisplaySet || NON_IMAGE.has(ds.Modality))
      return false;
    if (!ds.imageIds?.length || seen.has(ds.SeriesInstanceUID)) return false;
    seen.add(ds.SeriesInstanceUID);
    return true;
  });
}

/** The state the toolbar button depends on; it is re-evaluated when this changes. */
function toolbarKey(s: WorkflowState): string {
  const project = s.projects.find((p) => p.id === s.projectId);
  const running = !!s.segment && !isOver(s.segment.state);
  return `${s.projectId}|${project?.latestModelId}|${running}`;
}

function safeLocalStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}
