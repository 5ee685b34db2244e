/**
 * The real ServerServices: DICOMweb for examples and hook lookups, the engine for training and inference,
 * model archives on disk. createJobHandlers gives the queue (local or a Redis worker) its train and segment
 * handlers.
 */
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import type { Info } from '../api/index.js';
import { jsonValue } from '../dicom/index.js';
import { loadModel, mobileSamStatus, trainerEnvironment } from '../engine/index.js';
import type { ServerServices } from './types.js';
import type { JobHandlers } from '../jobs/types.js';
import type { Store } from '../store/index.js';
import { writeTar } from '../util/tar.js';
import { version } from '../version.js';
import { addExample, removeExampleFiles } from './examples.js';
import { exportModelArchive, importModelArchive } from './model-archive.js';
import { projectDataset } from './nnunet-dataset.js';
import type { ServiceEnv } from './env.js';
import { runSegmentJob } from './segment-job.js';
import { runTrainJob } from './train-job.js';

export { ServiceEnv } from './env.js';
export type { SeriesSummary, ServerServices } from './types.js';
export { requireLabelledExamples } from './training-set.js';
export { projectDataset, writeDatasetFolder } from './nnunet-dataset.js';
export { pacsClient } from './pacs.js';
export { labelmapToVolume } from './labelmap.js';

export function createJobHandlers(env: ServiceEnv): JobHandlers {
  return {
    train: (payload, ctx) => runTrainJob(env, payload, ctx),
    segment: (payload, ctx) => runSegmentJob(env, payload, ctx),
  };
}

export function createServices(env: ServiceEnv, store: Store): ServerServices {
  let environment: Promise<{ cuda: boolean; devices: string[] }> | undefined;
  return {
    addExample: (project, input, authorization) =>
      addExample(store, env.pacsForRequest(authorization), project, input),
    removeExampleFiles,
    async info(): Promise<Info> {
      environment ??= trainerEnvironment().catch(() => ({ cuda: false, devices: [] }));
      const { cuda, devices } = await environment;
      const mobileSam = mobileSamStatus();
      return {
        version,
        devices: { cpuThreads: availableParallelism(), cuda, gpus: devices },
        encoders: [
          { id: 'none', available: true, description: 'plain nnU-Net (no SAM branch)' },
          {
            id: 'mobilesam',
            available: mobileSam.configured,
            description: 'frozen MobileSAM image encoder (nnSAM)',
            ...(mobileSam.configured
              ? {}
              : {
                  hint: 'Set NNSAM_MOBILESAM_CHECKPOINT (mobile_sam.pt) or NNSAM_MOBILESAM_ONNX; see docs/encoders.md.',
                }),
          },
        ],
        mobileSam,
        dicomweb: { url: env.config.dicomweb.url },
        auth: env.config.auth.mode,
        queue: env.config.queue.backend,
      };
    },
    async studySeries(studyInstanceUID) {
      const rows = await env.pacs().searchForSeries(studyInstanceUID);
      return rows.map((r) => ({
        seriesInstanceUID: jsonValue(r, '0020000E') ?? '',
        modality: jsonValue(r, '00080060') ?? '',
        seriesDescription: jsonValue(r, '0008103E') ?? '',
      }));
    },
    exportModel: (model) => exportModelArchive(store, model),
    exportDataset: async (project, examples, authorization) => {
      const dataset = await projectDataset(env.pacsForRequest(authorization), project, examples, env.log);
      return gzipSync(writeTar(dataset.files), { level: 1 }); // the NIfTIs inside are gzip'd already
    },
    importModel: (archive) =>
      importModelArchive(store, archive, async (dir) => {
        const loaded = await loadModel(dir);
        const encoder = loaded.info.encoder.id;
        await loaded.close();
        return { encoder };
      }),
    async removeModelFiles(modelId) {
      await env.forgetModel(modelId);
      await rm(store.modelDir(modelId), { recursive: true, force: true });
    },
    async modelPlan(modelId) {
      return JSON.parse(await readFile(join(store.modelDir(modelId), 'plan.json'), 'utf8')) as unknown;
    },
  };
}
