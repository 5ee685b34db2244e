/**
 * The nnSAM workflow behind the panel, the toolbar button and the commands, as one store per panel
 * section wired together: server, projects, classes, labels (training set), training, segmentation and
 * the viewer's selection. One instance per viewer: the panel comes and goes with OHIF's tabs, and a
 * training run it started goes on being followed.
 *
 * Actions are run through the commands module (commands.ts), which reports a failure once as an OHIF
 * notification; each store also records it in its own section. Background work (following a training
 * run, polling the server) reports its own failures. Nothing is swallowed.
 */
import type { NnsamApi } from '../api/client.js';
import type { NnsamViewerConfig } from '../config.js';
import type { OhifContext } from '../ohif/context.js';
import { ClassesStore } from './classes.js';
import { LabelsStore } from './labels.js';
import { Notices } from './notices.js';
import { ProjectsStore, type ProjectStorage } from './projects.js';
import { SegmentationStore } from './segmentation.js';
import { SelectionStore } from './selection.js';
import { ServerStore } from './server.js';
import { TrainingStore } from './training.js';

export class Workflow {
  readonly notices: Notices;
  readonly server: ServerStore;
  readonly projects: ProjectsStore;
  readonly classes: ClassesStore;
  readonly labels: LabelsStore;
  readonly training: TrainingStore;
  readonly segmentation: SegmentationStore;
  readonly selection: SelectionStore;

  private started: Promise<void> | null = null;
  private attached = 0;
  private detach: (() => void) | null = null;

  constructor(
    readonly ctx: OhifContext,
    readonly api: NnsamApi,
    readonly config: NnsamViewerConfig,
    storage: ProjectStorage | undefined = safeLocalStorage(),
  ) {
    const notices = (this.notices = new Notices(ctx.services));
    const project = () => this.projects.project;
    const requireProject = () => this.projects.requireProject();
    const projectId = () => this.projects.state.projectId;
    const correcting = () => this.segmentation.correctionTarget();

    this.selection = new SelectionStore(ctx);
    this.server = new ServerStore(api, notices, () => this.projects.load());
    this.segmentation = new SegmentationStore(ctx, api, config.segmentation, notices, {
      start: () => this.start(),
      project,
      requireProject,
    });
    this.classes = new ClassesStore(ctx, { requireProject, correcting });
    this.labels = new LabelsStore(ctx, api, notices, {
      projectId,
      project,
      requireProject,
      requireSelection: () => this.selection.require(),
      paintSegmentation: () => this.classes.paintSegmentation(),
      correcting,
      shown: () => this.segmentation.state.run?.shown ?? null,
    });
    this.training = new TrainingStore(api, config.training, notices, {
      projectId,
      requireProject,
      examples: () => this.labels.state.examples,
      projectsChanged: (projects) => this.projects.replace(projects),
    });
    this.projects = new ProjectsStore(
      api,
      notices,
      {
        closed: () => {
          this.training.reset();
          this.labels.reset();
        },
        opened: async (p) => void (await Promise.all([this.labels.open(p.id), this.training.open(p)])),
      },
      storage,
    );

    // the toolbar button's state depends on the project and on a segmentation running: re-evaluate it then
    let toolbar = this.toolbarKey();
    const refresh = () => {
      const next = this.toolbarKey();
      if (next !== toolbar) {
        toolbar = next;
        this.refreshToolbar();
      }
    };
    this.projects.subscribe(refresh);
    this.segmentation.subscribe(refresh);
  }

  /** First call: checks the server and loads the projects (later calls return the same promise). */
  start(): Promise<void> {
    this.started ??= this.server.check();
    return this.started;
  }

  /** The panel is on screen: poll the server's health and follow the viewer's selection. */
  attach(pollMs = 15_000): () => void {
    if (this.attached++ === 0) {
      void this.start();
      const poll = setInterval(() => void this.server.check(), pollMs);
      const unwatch = this.selection.watch();
      this.detach = () => {
        clearInterval(poll);
        unwatch();
      };
    }
    return () => {
      if (--this.attached > 0) return;
      this.detach?.();
      this.detach = null;
    };
  }

  private toolbarKey(): string {
    return `${this.projects.state.projectId}|${this.projects.project?.latestModelId}|${this.segmentation.running}`;
  }

  private refreshToolbar(): void {
    const { toolbarService, viewportGridService } = this.ctx.services;
    toolbarService?.refreshToolbarState({ viewportId: viewportGridService.getActiveViewportId() });
  }
}

function safeLocalStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}
