/**
 * The extension's client for the nnSAM HTTP API. Types and validation come from the server's own contract
 * (`@nnsam/server/api`), so a server change that breaks the viewer fails the build or the schema check
 * here, not silently in the UI. Every failure becomes a ViewerError with a message and a hint.
 *
 * TODO(issue 5): projects, classes, examples (labelmap upload), training and segmentation jobs with their
 * event streams, and /api/info (device, encoder weights) arrive with the HTTP API; add them here using the
 * contract's schemas, never hand-written shapes.
 */
import { ErrorBody, Health } from '@nnsam/server/api';

import { ViewerError } from '../errors.js';

type Fetch = typeof fetch;

export class NnsamApi {
  readonly baseUrl: string;
  private readonly fetchImpl: Fetch;

  constructor(baseUrl: string, fetchImpl: Fetch = (...args) => fetch(...args)) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchImpl = fetchImpl;
  }

  /** GET /health: whether the server answers, and its version. */
  async health(signal?: AbortSignal): Promise<Health> {
    const body = await this.request('GET', '/health', undefined, signal);
    return this.validate(Health, body, '/health');
  }

  private async request(
    method: string,
    path: string,
    json?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: {
          Accept: 'application/json',
          ...(json === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal,
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ViewerError('server_unreachable', `The nnSAM server at ${this.baseUrl} did not answer.`, {
        hint: 'Start it (`npm start` in the nnSAM repository) or check window.config.nnsam.apiBaseUrl.',
        cause: e,
      });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const parsed = ErrorBody.safeParse(body);
      if (parsed.success) {
        const { code, message, hint } = parsed.data.error;
        throw new ViewerError(code, message, { hint, status: res.status });
      }
      throw new ViewerError(
        res.status === 404 ? 'server_unreachable' : 'server_error',
        `${method} ${url} answered ${res.status} ${res.statusText}`.trim() + '.',
        {
          status: res.status,
          hint:
            res.status === 404
              ? 'No nnSAM API at this address: start the nnSAM server, or fix window.config.nnsam.apiBaseUrl.'
              : 'See the nnSAM server log for details.',
        },
      );
    }
    if (body === undefined && text) {
      throw new ViewerError('bad_response', `${method} ${url} did not answer JSON.`, {
        hint: 'window.config.nnsam.apiBaseUrl probably points at something that is not the nnSAM API.',
      });
    }
    return body;
  }

  private validate<T>(
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
    body: unknown,
    path: string,
  ): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ViewerError(
        'bad_response',
        `The nnSAM server's answer to ${path} does not match this viewer.`,
        {
          hint: 'Update the viewer plugins and the server to the same nnSAM version.',
        },
      );
    }
    return parsed.data;
  }
}
