/**
 * Panel section 4: training the selected project, following its job's events in the background (also a
 * run started earlier, in this page or another), the loss curve and the model it made. A run the panel
 * follows reports its own failure: nobody awaits it.
 */
import type { Example, Job, JobEvent, JobState, Model, Project, TrainMetrics } from '@nnsam/server/api';

import type { NnsamApi } from '../api/client.js';
import { followJob, TERMINAL } from '../api/sse.js';
import type { NnsamViewerConfig } from '../config.js';
import { errorText, ViewerError } from '../errors.js';
import { addMetrics, type CurvePoint } from './curve.js';
import { isOver, type JobRun } from './job-run.js';
import { hasLabelledSlices } from './labels.js';
import type { Notices } from './notices.js';
import { Store } from './store.js';

export interface TrainRun extends JobRun {
  projectId: string;
  curve: CurvePoint[];
}

export interface TrainingState {
  run: TrainRun | null;
  /** the selected project's latest model */
  model: Model | null;
}

export interface TrainingDeps {
  projectId(): string | null;
  requireProject(): Project;
  /** the selected project's training set */
  examples(): Example[];
  /** a finished run changed the project's latest model: the project list as the server has it now */
  projectsChanged(projects: Project[]): void;
}

type TrainingApi = Pick<
  NnsamApi,
  'train' | 'cancelJob' | 'job' | 'jobs' | 'jobEvents' | 'model' | 'projects'
>;

export class TrainingStore extends Store<TrainingState> {
  private follower: AbortController | null = null;

  constructor(
    private readonly api: TrainingApi,
    private readonly config: NnsamViewerConfig['training'],
    private readonly notices: Notices,
    private readonly deps: TrainingDeps,
  ) {
    super({ run: null, model: null });
  }

  /** Another project is selected: stop following this one's run. */
  reset(): void {
    this.follower?.abort();
    this.follower = null;
    this.set({ run: null, model: null });
  }

  /** Loads the project's latest model, and follows again a training run still going. */
  async open(project: Project): Promise<void> {
    const [model, jobs] = await Promise.all([
      project.latestModelId ? this.api.model(project.latestModelId) : Promise.resolve(null),
      this.api.jobs({ projectId: project.id, kind: 'train', limit: 1 }),
    ]);
    if (this.deps.projectId() !== project.id) return;
    this.set({ model });
    const running = jobs[0];
    if (running && !TERMINAL.includes(running.state) && this.state.run?.jobId !== running.id) {
      this.set({ run: newRun(project.id, running) });
      this.follow(running.id);
    }
  }

  private patchRun(jobId: string | null, patch: Partial<TrainRun>): void {
    const run = this.state.run;
    if (!run || (jobId !== null && run.jobId !== jobId)) return; // a run the panel no longer shows
    this.set({ run: { ...run, ...patch } });
  }

  /** Queues training for the project; its events are followed in the background. */
  async train(options: { minutes: number; encoder: string }): Promise<Job> {
    const project = this.deps.requireProject();
    const examples = this.deps.examples();
    if (!examples.length) {
      throw new ViewerError('no_examples', `Project "${project.name}" has no training examples yet.`, {
        hint: 'Paint a few slices and press "Add labelled slices" first.',
      });
    }
    if (!hasLabelledSlices(examples)) {
      throw new ViewerError(
        'no_labelled_slices',
        `Project "${project.name}" has only unlabelled series (images only); training needs at least one labelled slice.`,
        { hint: 'Paint a few slices and press "Add labelled slices" first.' },
      );
    }
    if (this.state.run && !isOver(this.state.run.state)) {
      throw new ViewerError('already_training', `Project "${project.name}" is already training.`, {
        hint: 'Wait for it to finish, or cancel it.',
      });
    }
    this.set({ run: { ...newRun(project.id, null), state: 'starting' } });
    try {
      const job = await this.api.train(project.id, {
        minutes: options.minutes,
        encoder: options.encoder,
        ...(this.config.maxIterations ? { maxIterations: this.config.maxIterations } : {}),
      });
      this.patchRun(null, { jobId: job.id, state: job.state });
      this.follow(job.id);
      return job;
    } catch (e) {
      this.patchRun(null, { state: 'failed', error: errorText(e) });
      throw e;
    }
  }

  async cancel(): Promise<void> {
    const jobId = this.state.run?.jobId;
    if (!jobId) throw new ViewerError('nothing_to_cancel', 'No training is running.');
    await this.api.cancelJob(jobId);
  }

  private follow(jobId: string): void {
    this.follower?.abort();
    const follower = new AbortController();
    this.follower = follower;
    void (async () => {
      try {
        const final = await followJob((after, signal) => this.api.jobEvents(jobId, after, signal), {
          signal: follower.signal,
          onEvent: (e) => this.onEvent(jobId, e),
        });
        await this.ended(jobId, final);
      } catch (e) {
        if (follower.signal.aborted) return;
        this.patchRun(jobId, { error: this.notices.report('nnSAM: training', e) });
      }
    })();
  }

  private onEvent(jobId: string, e: JobEvent): void {
    const run = this.state.run;
    if (!run || run.jobId !== jobId) return;
    if (e.type === 'state') {
      this.patchRun(jobId, { state: e.state, ...(e.error ? { error: e.error } : {}) });
    } else if (e.type === 'progress') {
      const p = e.progress;
      const fraction = p.total
        ? Math.min(1, (p.done ?? 0) / p.total)
        : p.stage === run.progress?.stage
          ? run.fraction
          : null;
      this.patchRun(jobId, { progress: p, fraction });
    } else {
      const m: TrainMetrics = e.metrics;
      this.patchRun(jobId, {
        curve: addMetrics(run.curve, m),
        ...(typeof m.fraction === 'number' ? { fraction: m.fraction } : {}),
      });
    }
  }

  private async ended(jobId: string, final: JobState): Promise<void> {
    const job = await this.api.job(jobId);
    if (final === 'succeeded') {
      const modelId = job.kind === 'train' ? job.result?.modelId : undefined;
      if (!modelId) throw new ViewerError('bad_response', `Training job ${jobId} succeeded without a model.`);
      const model = await this.api.model(modelId);
      const projects = await this.api.projects();
      if (this.state.run?.jobId === jobId) {
        this.set({ model });
        this.deps.projectsChanged(projects);
      }
      const dice = model.metrics.bestValDice;
      this.notices.success(
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
      this.patchRun(jobId, { error: { message: error.message, ...(hint ? { hint } : {}) } });
      this.notices.report(`nnSAM: training ${final}`, new ViewerError(error.code, error.message, { hint }));
    }
  }
}

function newRun(projectId: string, job: Job | null): TrainRun {
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
