import { join } from 'node:path';

import type { ServerConfig } from '../config.js';
import type { DicomwebClient } from '../dicom/index.js';
import { loadModel, type EncoderSpec, type LoadedModel } from '../engine/index.js';
import { NnsamError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { pacsClient } from './pacs.js';

/**
 * What job handlers need from their surroundings: configuration, where files go, a PACS client, and trained
 * models (loaded once and kept: opening an onnxruntime session costs more than a small inference).
 * Built from configuration alone, so a Redis worker on another machine builds the same one.
 */
export class ServiceEnv {
  private readonly models = new Map<string, Promise<LoadedModel>>();

  constructor(
    readonly config: ServerConfig,
    readonly log: Logger,
    /** Viewer tokens of jobs, kept in memory only (NNSAM_FORWARD_VIEWER_TOKEN). */
    readonly forwardedTokens: Map<string, string> = new Map(),
  ) {
    // The engine's caches (embeddings, built encoders, downloaded weights) default to this server's data
    // directory, so a server writes nothing outside it; an explicit NNSAM_CACHE_DIR still wins.
    process.env.NNSAM_CACHE_DIR ??= join(config.dataDir, 'cache');
  }

  get dataDir(): string {
    return this.config.dataDir;
  }

  modelDir(id: string): string {
    return join(this.dataDir, 'models', id);
  }

  resultFile(jobId: string): string {
    return join(this.dataDir, 'results', `${jobId}.dcm`);
  }

  pacs(jobId?: string): DicomwebClient {
    const token = jobId ? this.forwardedTokens.get(jobId) : undefined;
    if (this.config.dicomweb.forwardViewerToken && jobId && !token) {
      throw new NnsamError(
        'token_unavailable',
        'The viewer token this job should forward to the PACS is no longer available.',
        {
          status: 401,
          hint: 'The server restarted since the job was created: start the job again from the viewer.',
        },
      );
    }
    return pacsClient(this.config, this.log, token);
  }

  /** A PACS client for work done inside an HTTP request (the viewer's token only where forwarding is on). */
  pacsForRequest(authorization: string | undefined): DicomwebClient {
    return pacsClient(this.config, this.log, authorization);
  }

  /** The engine's encoder for an API encoder choice ("onnx:NAME" = <data dir>/encoders/NAME). */
  encoderSpec(choice: string): EncoderSpec {
    if (choice.startsWith('onnx:')) return join(this.dataDir, 'encoders', choice.slice(5));
    return choice as EncoderSpec;
  }

  async model(id: string): Promise<LoadedModel> {
    let loaded = this.models.get(id);
    if (!loaded) {
      loaded = loadModel(this.modelDir(id), {
        ...(this.config.engine.threads ? { threads: this.config.engine.threads } : {}),
      });
      this.models.set(id, loaded);
      loaded.catch(() => this.models.delete(id));
    }
    return loaded;
  }

  /** Releases a model's sessions (before its folder is deleted). */
  async forgetModel(id: string): Promise<void> {
    const loaded = this.models.get(id);
    this.models.delete(id);
    if (loaded) await (await loaded.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.models.keys()].map((id) => this.forgetModel(id)));
  }
}
