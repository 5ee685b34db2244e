import type { ExampleCreate, Info, Model, Project } from '../api/index.js';
import type { ServerConfig } from '../config.js';
import type { JobQueue } from '../jobs/types.js';
import type { Store, StoredExample } from '../store/index.js';
import type { Logger } from '../util/logger.js';

/** Series of a study as the hook rules see them. */
export interface SeriesSummary {
  seriesInstanceUID: string;
  modality: string;
  seriesDescription: string;
}

/**
 * What the HTTP layer needs beyond the store and the queue. The real implementations (services/) talk to
 * DICOMweb and the engine; keeping them behind this interface keeps each route a few lines of glue.
 */
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

export interface AppContext {
  config: ServerConfig;
  store: Store;
  queue: JobQueue;
  services: ServerServices;
  log: Logger;
  version: string;
  /** Viewer tokens kept in memory only, for deployments that forward them to the PACS. */
  forwardedTokens: Map<string, string>;
}
