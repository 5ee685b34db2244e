/**
 * A project's training set read back from the PACS: every example's series as a volume and its labels as
 * project class values. The train job and the nnU-Net dataset export read it the same way.
 */
import { loadSeriesFromDicomweb, type ClassDefinition, type DicomwebClient } from '../dicom/index.js';
import type { TrainingCase } from '../engine/index.js';
import type { StoredSource } from '../store/index.js';
import { NnsamError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { labelsOf } from './examples.js';

export interface TrainingSetExample {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  source: StoredSource;
}

export interface TrainingSet {
  /** One per example, in the examples' order; an image-only case has no labels and no labelled slice. */
  cases: (TrainingCase & { seriesInstanceUID: string })[];
  /** The one modality of the series (undefined only when there is no example). */
  modality: string | undefined;
}

/**
 * Refuses, before any PACS traffic, a set that cannot train (or export) anything: no example, or only
 * image-only ones (the engine would refuse it too, but only once a job runs).
 */
export function requireLabelledExamples(
  project: { name: string },
  examples: { labelledSlices: number[] }[],
): void {
  if (!examples.length) {
    throw new NnsamError('no_examples', `Project "${project.name}" has no training examples yet.`, {
      status: 409,
      hint: 'Add labelled slices first (POST /api/projects/{id}/examples).',
    });
  }
  if (!examples.some((e) => e.labelledSlices.length > 0)) {
    throw new NnsamError(
      'no_labelled_slices',
      `Project "${project.name}" has only unlabelled series (images only); training needs at least one labelled slice.`,
      {
        status: 409,
        hint: 'Add labelled slices (a labelmap painted in the viewer, or a SEG) first (POST /api/projects/{id}/examples).',
      },
    );
  }
}

export async function loadTrainingSet(
  client: DicomwebClient,
  all: TrainingSetExample[],
  classes: readonly ClassDefinition[],
  options: { log: Logger; signal?: AbortSignal; progress?: (done: number, total: number) => void },
): Promise<TrainingSet> {
  // a series that is labelled elsewhere in the set brings its unlabelled slices with it: an image-only
  // example of it would only repeat them
  const labelledSeries = new Set(
    all.filter((e) => e.source.kind !== 'image').map((e) => e.seriesInstanceUID),
  );
  const examples = all.filter((e) => e.source.kind !== 'image' || !labelledSeries.has(e.seriesInstanceUID));
  const cases: TrainingSet['cases'] = [];
  let modality: string | undefined;
  for (const [n, ex] of examples.entries()) {
    options.signal?.throwIfAborted();
    options.progress?.(n, examples.length);
    const series = await loadSeriesFromDicomweb(client, ex.studyInstanceUID, ex.seriesInstanceUID, {
      logger: options.log,
    });
    // image-only: no labels and no labelled slice, the engine uses its slices as unlabelled ones only.
    // A labelled example is decoded again rather than trained on the slice indices stored when it was added:
    // its voxel values live only in the stored labelmap (or SEG) anyway, and the indices are k in the sort of
    // the series as loaded now, so a series that gained instances since still gets its labels on the slices
    // of their SOP Instance UIDs; the stored indices would point next to them, and the job payload (a
    // persisted format) carries no indices.
    const read =
      ex.source.kind === 'image'
        ? { labelledSlices: [] }
        : await labelsOf(ex.source, series, classes, client, ex.studyInstanceUID);
    if (modality && modality !== series.meta.modality) {
      throw new NnsamError(
        'mixed_modalities',
        `The training examples mix ${modality} and ${series.meta.modality} series; one model learns one modality.`,
        { hint: 'Remove the examples of the other modality, or put them in another project.' },
      );
    }
    modality = series.meta.modality;
    cases.push({
      image: series.volume,
      ...read,
      name: `example ${n + 1}`,
      seriesInstanceUID: ex.seriesInstanceUID,
    });
  }
  options.progress?.(examples.length, examples.length);
  return { cases, modality };
}
