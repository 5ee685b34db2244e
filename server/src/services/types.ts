/**
 * The services' interface as the HTTP layer sees it: what a route needs beyond the store and the queue.
 * services/index.ts implements it over DICOMweb and the engine and re-exports it: http/ imports its type from
 * there (type-only, so the HTTP layer's types load no engine).
 */
import type { ExampleCreate, Info, Model, Project } from '../api/index.js';
import type { StoredExample } from '../store/index.js';

/** Series of a study as the hook rules see them. */
export interface SeriesSummary {
  seriesInstanceUID: string;
  modality: string;
  seriesDescription: string;
}

/** Keeping DICOMweb and the engine behind this interface keeps each route a few lines of glue. */
export interface ServerServices {
  /** Checks a training example against the PACS (series exists, labels fit it) and stores it. */
  addExample(
    project: Project,
    input: ExampleCreate,
    authorization: string | undefined,
  ): Promise<StoredExample>;
  /** Removes the files of an example that was deleted from the store. */
  removeExampleFiles(example: StoredExample): Promise<void>;
  info(): Promise<Info>;
  /** The series of a study (for hook rules). */
  studySeries(studyInstanceUID: string): Promise<SeriesSummary[]>;
  /** Writes a model as one archive; imports an archive as a new model. */
  exportModel(model: Model): Promise<NodeJS.ReadableStream>;
  importModel(archive: Buffer): Promise<Model>;
  /** The project's training set as an nnU-Net v2 raw dataset, one tar.gz (services/nnunet-dataset.ts). */
  exportDataset(
    project: Project,
    examples: StoredExample[],
    authorization: string | undefined,
  ): Promise<Buffer>;
  /** Deletes a model's folder (after its row is gone). */
  removeModelFiles(modelId: string): Promise<void>;
  /** Reads the model's plan (JSON) from its folder. */
  modelPlan(modelId: string): Promise<unknown>;
}
