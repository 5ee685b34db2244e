/**
 * The extension's client for the nnSAM HTTP API (docs/server.md, /api/openapi.json). Request and answer
 * types come from the server's own contract (`@nnsam/server/api`, types only); answers are checked for the
 * fields the viewer relies on (check.ts). Every failure becomes a ViewerError with a message and a hint:
 * the server's own `{ error: { code, message, hint } }`, or what to check when it did not answer.
 * Every request carries the Authorization header the provider gives (auth.ts), the event stream included.
 */
import type {
  ClassDef,
  Example,
  ExampleCreate,
  Health,
  Info,
  Job,
  JobEvent,
  JobState,
  Model,
  Project,
  SegmentRequest,
} from '@nnsam/server/api';

import type { AuthorizationProvider } from '../auth.js';
import { ViewerError } from '../errors.js';
import {
  EXAMPLE_FIELDS,
  INFO_FIELDS,
  JOB_FIELDS,
  listOf,
  mismatch,
  MODEL_FIELDS,
  PROJECT_FIELDS,
  shaped,
} from './check.js';
import { SseParser } from './sse.js';

type Fetch = typeof fetch;

export interface ApiOptions {
  fetch?: Fetch;
  authorization?: AuthorizationProvider;
}

export interface NewProject {
  name: string;
  description?: string;
  classes: ClassDef[];
}

export interface TrainOptions {
  minutes: number;
  encoder: string;
  maxIterations?: number;
  seed?: number;
}

export class NnsamApi {
  readonly baseUrl: string;
  private readonly fetchImpl: Fetch;
  private readonly authorization: AuthorizationProvider;

  constructor(baseUrl: string, options: ApiOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.authorization = options.authorization ?? (async () => undefined);
  }

  /** GET /health: whether the server answers, and its version (no authentication). */
  async health(signal?: AbortSignal): Promise<Health> {
    const body = await this.json('GET', '/health', undefined, signal);
    const health = shaped<Health>(body, '/health', { status: 'string', version: 'string' });
    if (health.status !== 'ok') throw mismatch('/health', `status "${String(health.status)}"`);
    return health;
  }

  /** GET /info: version, devices, encoders (MobileSAM weights present or how to add them), auth mode. */
  async info(): Promise<Info> {
    return shaped<Info>(await this.json('GET', '/info'), '/info', INFO_FIELDS);
  }

  async projects(): Promise<Project[]> {
    return listOf<Project>(await this.json('GET', '/projects'), '/projects', PROJECT_FIELDS);
  }

  async project(projectId: string): Promise<Project> {
    const path = `/projects/${enc(projectId)}`;
    return shaped<Project>(await this.json('GET', path), path, PROJECT_FIELDS);
  }

  async createProject(project: NewProject): Promise<Project> {
    return shaped<Project>(await this.json('POST', '/projects', project), '/projects', PROJECT_FIELDS);
  }

  async examples(projectId: string): Promise<Example[]> {
    const path = `/projects/${enc(projectId)}/examples`;
    return listOf<Example>(await this.json('GET', path), path, EXAMPLE_FIELDS);
  }

  /** Adds a training example: painted labels (labelmap) or a SEG already in the PACS. */
  async addExample(projectId: string, example: ExampleCreate): Promise<Example> {
    const path = `/projects/${enc(projectId)}/examples`;
    return shaped<Example>(await this.json('POST', path, example), path, EXAMPLE_FIELDS);
  }

  async removeExample(projectId: string, exampleId: string): Promise<void> {
    await this.json('DELETE', `/projects/${enc(projectId)}/examples/${enc(exampleId)}`);
  }

  /** Queues a training job for the project's examples. */
  async train(projectId: string, options: TrainOptions): Promise<Job> {
    const path = `/projects/${enc(projectId)}/train`;
    return shaped<Job>(await this.json('POST', path, options), path, JOB_FIELDS);
  }

  async model(modelId: string): Promise<Model> {
    const path = `/models/${enc(modelId)}`;
    return shaped<Model>(await this.json('GET', path), path, MODEL_FIELDS);
  }

  /** Queues a segmentation job; its result names the SEG the server stored in the PACS. */
  async segment(request: SegmentRequest): Promise<Job> {
    return shaped<Job>(await this.json('POST', '/segment', request), '/segment', JOB_FIELDS);
  }

  async job(jobId: string): Promise<Job> {
    const path = `/jobs/${enc(jobId)}`;
    return shaped<Job>(await this.json('GET', path), path, JOB_FIELDS);
  }

  /** Jobs, newest first. */
  async jobs(
    filter: { projectId?: string; kind?: Job['kind']; state?: JobState; limit?: number } = {},
  ): Promise<Job[]> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) query.set(k, String(v));
    const path = `/jobs${query.toString() ? `?${query}` : ''}`;
    return listOf<Job>(await this.json('GET', path), '/jobs', JOB_FIELDS);
  }

  async cancelJob(jobId: string): Promise<Job> {
    const path = `/jobs/${enc(jobId)}/cancel`;
    return shaped<Job>(await this.json('POST', path), path, JOB_FIELDS);
  }

  /**
   * One connection to GET /jobs/:id/events: yields the events after `afterSeq` (sent as Last-Event-ID) as
   * they arrive, until the server ends the stream (after the job's final state). See sse.ts/followJob.
   */
  async *jobEvents(jobId: string, afterSeq = 0, signal?: AbortSignal): AsyncGenerator<JobEvent> {
    const path = `/jobs/${enc(jobId)}/events`;
    const res = await this.send('GET', path, undefined, signal, {
      Accept: 'text/event-stream',
      ...(afterSeq > 0 ? { 'Last-Event-ID': String(afterSeq) } : {}),
    });
    if (!res.ok) await this.fail(res, 'GET', path);
    if (!res.body) throw mismatch(path, 'no event stream');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const message of parser.push(value)) {
          let event: JobEvent;
          try {
            event = JSON.parse(message.data) as JobEvent;
          } catch {
            throw mismatch(path, 'an event that is not JSON');
          }
          if (typeof event?.seq !== 'number' || typeof event.type !== 'string') {
            throw mismatch(path, 'an event without seq or type');
          }
          yield event;
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }

  private async send(
    method: string,
    path: string,
    json: unknown,
    signal: AbortSignal | undefined,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    const authorization = await this.authorization();
    try {
      return await this.fetchImpl(url, {
        method,
        headers: {
          Accept: 'application/json',
          ...(json === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(authorization ? { Authorization: authorization } : {}),
          ...extraHeaders,
        },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ViewerError('server_unreachable', `The nnSAM server at ${this.baseUrl} did not answer.`, {
        hint: 'Check that it is running (`npm start` or `nnsam serve`) and that window.config.nnsam.apiBaseUrl points at it.',
        cause: e,
      });
    }
  }

  private async json(method: string, path: string, json?: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await this.send(method, path, json, signal);
    if (!res.ok) await this.fail(res, method, path);
    const text = await res.text();
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new ViewerError('bad_response', `${method} ${this.baseUrl}${path} did not answer JSON.`, {
        hint: 'window.config.nnsam.apiBaseUrl probably points at something that is not the nnSAM API.',
      });
    }
  }

  /** Turns an error answer into a ViewerError: the server's own words when it sent them. */
  private async fail(res: Response, method: string, path: string): Promise<never> {
    const url = `${this.baseUrl}${path}`;
    let body: unknown;
    try {
      body = JSON.parse(await res.text());
    } catch {
      body = undefined;
    }
    const error = (body as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined)
      ?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      let hint = typeof error.hint === 'string' ? error.hint : undefined;
      if (res.status === 401) {
        hint = `${hint ? `${hint} ` : ''}In the viewer: set nnsam.token or nnsam.getToken in app-config.js, or log in to OHIF with the identity provider the server trusts (docs/viewer.md, Authentication).`;
      }
      throw new ViewerError(error.code, error.message, { hint, status: res.status });
    }
    throw new ViewerError(
      res.status === 404 ? 'server_unreachable' : 'server_error',
      `${method} ${url} answered ${res.status} ${res.statusText}`.trim() + '.',
      {
        status: res.status,
        hint:
          res.status === 404
            ? 'No nnSAM API at this address: start the nnSAM server, or fix window.config.nnsam.apiBaseUrl.'
            : res.status === 502 || res.status === 504
              ? 'A proxy in front of the nnSAM server could not reach it: check that the server is running.'
              : 'See the nnSAM server log for details.',
      },
    );
  }
}

const enc = encodeURIComponent;
