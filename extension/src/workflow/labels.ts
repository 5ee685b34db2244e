/**
 * Panel section 3: the labelled slices of the active series ("Check", "Add labelled slices", a negative
 * slice, the series unlabelled, a loaded SEG) and the project's training set. Every failure of this section
 * shows in it (`error`) and still reaches the caller.
 */
import type { Example, ExampleCreate, LabelmapPayload, Project } from '@nnsam/server/api';

import type { NnsamApi } from '../api/client.js';
import { errorText, ViewerError, type ErrorText } from '../errors.js';
import { activeViewportId, collectLabelmap, currentSlice } from '../labelmap/collect.js';
import { buildLabelmapPayload } from '../labelmap/payload.js';
import type { OhifContext } from '../ohif/context.js';
import { checkClasses, classValuesOfSegments } from './classes.js';
import type { Notices } from './notices.js';
import type { CorrectionTarget, ShownResult } from './segmentation.js';
import type { ViewerSelection } from './selection.js';
import { Store } from './store.js';

export interface LabelsState {
  examples: Example[];
  /** the labelled slices found by the last "Check" or "Add" */
  detected: LabelmapPayload | null;
  error: ErrorText | null;
  /** an example is on its way to the server */
  adding: boolean;
}

export interface LabelsDeps {
  projectId(): string | null;
  project(): Project | undefined;
  requireProject(): Project;
  requireSelection(): ViewerSelection;
  /** the labelmap "Start labelling" made, when it is on the active viewport */
  paintSegmentation(): string | undefined;
  /** the nnSAM result the user is correcting, and the result on screen */
  correcting(): CorrectionTarget | undefined;
  shown(): ShownResult | null;
}

const EMPTY: LabelsState = { examples: [], detected: null, error: null, adding: false };

export class LabelsStore extends Store<LabelsState> {
  constructor(
    private readonly ctx: OhifContext,
    private readonly api: Pick<NnsamApi, 'examples' | 'addExample' | 'removeExample'>,
    private readonly notices: Notices,
    private readonly deps: LabelsDeps,
  ) {
    super(EMPTY);
  }

  /** Another project is selected: its training set is not this one's. */
  reset(): void {
    this.set({ examples: [], detected: null, error: null });
  }

  /** Loads a project's training set (kept only while that project is still the selected one). */
  async open(projectId: string): Promise<void> {
    const examples = await this.api.examples(projectId);
    if (this.deps.projectId() === projectId) this.set({ examples });
  }

  /**
   * Reads what "Add labelled slices" would send from the active series: the corrected slices when the
   * active segmentation is an nnSAM result the user is correcting (the rest of it is the model's guess,
   * not truth), else every labelled slice of the painted labelmap.
   */
  detect(): LabelmapPayload {
    try {
      const correcting = this.deps.correcting();
      const detected = correcting
        ? this.collectCorrections(correcting)
        : collectLabelmap(this.ctx, { segmentationId: this.deps.paintSegmentation() });
      this.set({ detected, error: null });
      return detected;
    } catch (e) {
      this.set({ detected: null, error: errorText(e) });
      throw e;
    }
  }

  /** Sends the labelled (or corrected) slices of the active series to the project's training set. */
  async addLabelledSlices(): Promise<Example> {
    const project = this.deps.requireProject();
    const tracker = this.deps.correcting()?.tracker;
    const sent = tracker?.correctedImageIds;
    const labelmap = this.detect();
    this.step(() => checkClasses(labelmap, project));
    const example = await this.sendLabelmap(project, labelmap, (example) => {
      const n = example.labelledSlices.length;
      return `Added ${n} ${tracker ? 'corrected' : 'labelled'} slice${n === 1 ? '' : 's'} to "${project.name}".`;
    });
    // what was added is in the training set: only new corrections count from here on
    tracker?.reset(sent);
    return example;
  }

  /** The corrected slices of the nnSAM result, with the project's class values (by segment name). */
  private collectCorrections({ segmentation, tracker }: CorrectionTarget): LabelmapPayload {
    const shown = this.deps.shown();
    if (!tracker.correctedImageIds.length) {
      throw new ViewerError('no_corrections', 'No slice of the nnSAM result has been corrected yet.', {
        hint:
          "Paint or erase on a slice of the result with OHIF's brush (Label next > Go shows the slices the model is least sure of), then add it. " +
          "To add labels you painted yourself instead, make that segmentation the active one in OHIF's segmentation panel.",
      });
    }
    const project = this.deps.project();
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
    const project = this.deps.requireProject();
    const labelmap = this.step(() => {
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
    const project = this.deps.requireProject();
    const selection = this.step(() => this.deps.requireSelection());
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
    const project = this.deps.requireProject();
    const selection = this.deps.requireSelection();
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

  async removeExample(exampleId: string): Promise<void> {
    const project = this.deps.requireProject();
    await this.api.removeExample(project.id, exampleId);
    await this.open(project.id);
  }

  /** A synchronous step of this section: its failure shows here and still reaches the caller. */
  private step<T>(step: () => T): T {
    try {
      return step();
    } catch (e) {
      this.set({ error: errorText(e) });
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

  /** Adds one example, refreshes the training-set list and says so; a failure shows in this section. */
  private async sendExample(
    project: Project,
    body: ExampleCreate,
    message: (example: Example) => string,
  ): Promise<Example> {
    try {
      this.set({ adding: true });
      const example = await this.api.addExample(project.id, body);
      await this.open(project.id);
      this.set({ error: null });
      this.notices.success('nnSAM', message(example));
      return example;
    } catch (e) {
      this.set({ error: errorText(e) });
      throw e;
    } finally {
      this.set({ adding: false });
    }
  }
}

/** Whether any example labels a slice: series added unlabelled alone teach no class (the server refuses). */
export function hasLabelledSlices(examples: Example[]): boolean {
  return examples.some((e) => e.labelledSlices.length > 0);
}
