/**
 * DICOMweb access (QIDO-RS, WADO-RS, STOW-RS) through dicomweb-client, made dependable for a server:
 * - Node has no XMLHttpRequest: every request gets its own `xhr2` instance (this file is the only place
 *   that knows about it; nothing global is patched);
 * - `authorization` is sent as the Authorization header of every request (the viewer's token, passed on);
 * - a request that receives nothing for `timeoutMs` fails; network errors, timeouts, 429 and 5xx are
 *   retried with exponential backoff; other 4xx fail at once with an error that says what the server said;
 * - WADO-RS always asks for multipart/related (Orthanc answers 400 to single-part application/dicom) and
 *   names the transfer syntax it wants;
 * - STOW-RS answers (a JSON string from dicomweb-client) are parsed into typed results; failed instances
 *   raise an error.
 */
import { api } from 'dicomweb-client';
import XHR2 from 'xhr2';

import { NnsamError } from '../util/errors.js';
import { log as defaultLog, type Logger } from '../util/logger.js';
import { parsePart10 } from './part10.js';

export interface DicomwebClientOptions {
  /** DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web */
  url: string;
  /** Sent as the Authorization header (e.g. "Bearer <token>" from the viewer). */
  authorization?: string;
  headers?: Record<string, string>;
  /** A request that receives no data for this long fails (default 30 s). */
  timeoutMs?: number;
  /** Extra attempts after network errors, timeouts, 429 and 5xx (default 3). */
  retries?: number;
  /** Delay before the first retry, doubled after each (default 500 ms). */
  backoffMs?: number;
  logger?: Logger;
}

/** One object of a QIDO-RS answer in the DICOM JSON model: tag (8 hex digits) -> {vr, Value}. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export type QueryParams = Record<string, string | number | boolean>;

export interface StoredInstance {
  sopClassUID: string;
  sopInstanceUID: string;
  retrieveURL?: string;
}

export interface StoreResult {
  stored: StoredInstance[];
  /** Study-level RetrieveURL of the answer, when the server gives one. */
  retrieveURL?: string;
}

/** Transfer syntax to ask WADO-RS for: '*' = as stored (no transcoding), or a transfer syntax UID. */
export type RequestedTransferSyntax = '*' | string;

const TAG = {
  RetrieveURL: '00081190',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  FailureReason: '00081197',
  WarningReason: '00081196',
} as const;

/** The dicomweb-client calls we use (its bundled typings do not match its code, e.g. `request`). */
interface RawClient {
  searchForStudies(options: object): Promise<unknown>;
  searchForSeries(options: object): Promise<unknown>;
  searchForInstances(options: object): Promise<unknown>;
  storeInstances(options: object): Promise<unknown>;
  wadoURL: string;
  _httpGetMultipartApplicationDicom(
    url: string,
    mediaTypes: { mediaType: string; transferSyntaxUID: string }[],
    params: false,
    request: object,
  ): Promise<unknown>;
}

interface XhrLike {
  timeout: number;
  ontimeout: (() => void) | null;
  response: unknown;
  getResponseHeader(name: string): string | null;
}

interface HttpError extends Error {
  status?: number;
  response?: unknown;
  /** The connection closed before the multipart answer's closing delimiter (the PACS stopped mid-answer). */
  truncated?: boolean;
}

/**
 * Whether a multipart/related answer is complete: it ends with its closing delimiter `--boundary--`.
 * XMLHttpRequest reports a connection closed in the middle of a chunked answer as a normal end, and the
 * multipart parser then returns the parts it found, silently dropping the rest of the series.
 */
export function multipartComplete(contentType: string | null, body: unknown): boolean {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
  if (!boundary || !(body instanceof ArrayBuffer)) return true; // not multipart: nothing to check
  const tail = Buffer.from(body, Math.max(0, body.byteLength - boundary.length - 16)).toString('latin1');
  return tail.trimEnd().endsWith(`--${boundary}--`);
}

export class DicomwebClient {
  readonly url: string;
  private readonly client: RawClient;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly logger: Logger;

  constructor(options: DicomwebClientOptions) {
    if (!/^https?:\/\//.test(options.url)) {
      throw new NnsamError(
        'invalid_dicomweb_url',
        `DICOMweb URL must start with http:// or https:// (got "${options.url}")`,
      );
    }
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 3;
    this.backoffMs = options.backoffMs ?? 500;
    this.logger = options.logger ?? defaultLog;
    const headers = { ...options.headers };
    if (options.authorization) headers.Authorization = options.authorization;
    this.client = new api.DICOMwebClient({
      url: this.url,
      headers,
      verbose: false,
    } as never) as unknown as RawClient;
  }

  searchForStudies(query: QueryParams = {}): Promise<DicomJson[]> {
    return this.call('QIDO-RS /studies', (request) =>
      this.client.searchForStudies({ ...withQuery(query), request }),
    ) as Promise<DicomJson[]>;
  }

  searchForSeries(studyInstanceUID?: string, query: QueryParams = {}): Promise<DicomJson[]> {
    const path = studyInstanceUID ? `/studies/${studyInstanceUID}/series` : '/series';
    return this.call(`QIDO-RS ${path}`, (request) =>
      this.client.searchForSeries({
        ...(studyInstanceUID ? { studyInstanceUID } : {}),
        ...withQuery(query),
        request,
      }),
    ) as Promise<DicomJson[]>;
  }

  searchForInstances(
    studyInstanceUID?: string,
    seriesInstanceUID?: string,
    query: QueryParams = {},
  ): Promise<DicomJson[]> {
    const path = `${studyInstanceUID ? `/studies/${studyInstanceUID}` : ''}${seriesInstanceUID ? `/series/${seriesInstanceUID}` : ''}/instances`;
    return this.call(`QIDO-RS ${path}`, (request) =>
      this.client.searchForInstances({
        ...(studyInstanceUID ? { studyInstanceUID } : {}),
        ...(seriesInstanceUID ? { seriesInstanceUID } : {}),
        ...withQuery(query),
        request,
      }),
    ) as Promise<DicomJson[]>;
  }

  /** WADO-RS: every instance of a series as Part 10 bytes. */
  async retrieveSeries(
    studyInstanceUID: string,
    seriesInstanceUID: string,
    options: { transferSyntax?: RequestedTransferSyntax } = {},
  ): Promise<Uint8Array[]> {
    const path = `/studies/${studyInstanceUID}/series/${seriesInstanceUID}`;
    const parts = await this.wado(path, options.transferSyntax);
    return parts.map((p) => new Uint8Array(p));
  }

  /** WADO-RS: one instance as Part 10 bytes. */
  async retrieveInstance(
    studyInstanceUID: string,
    seriesInstanceUID: string,
    sopInstanceUID: string,
    options: { transferSyntax?: RequestedTransferSyntax } = {},
  ): Promise<Uint8Array> {
    const path = `/studies/${studyInstanceUID}/series/${seriesInstanceUID}/instances/${sopInstanceUID}`;
    const [part] = await this.wado(path, options.transferSyntax);
    if (!part) {
      throw new NnsamError('dicomweb_not_found', `${this.url}${path} returned no instance`, { status: 404 });
    }
    return new Uint8Array(part);
  }

  /**
   * WADO-RS as multipart/related; type="application/dicom"; transfer-syntax=... . dicomweb-client's own
   * retrieveSeries/retrieveInstance (0.11) reject every explicit media type ("Media type application/ is
   * not supported"), so its multipart request helper is called directly.
   */
  private async wado(path: string, transferSyntax: RequestedTransferSyntax = '*'): Promise<ArrayBuffer[]> {
    const mediaTypes = [{ mediaType: 'application/dicom', transferSyntaxUID: transferSyntax }];
    return (await this.call(`WADO-RS ${path}`, async (request) => {
      const parts = await this.client._httpGetMultipartApplicationDicom(
        `${this.client.wadoURL}${path}`,
        mediaTypes,
        false,
        request,
      );
      const xhr = request.instance as XhrLike;
      if (!multipartComplete(xhr.getResponseHeader('content-type'), xhr.response)) {
        throw Object.assign(new Error(`the answer to WADO-RS ${path} was cut off`), {
          status: 0,
          truncated: true,
        });
      }
      return parts;
    })) as ArrayBuffer[];
  }

  /**
   * STOW-RS. Every instance is checked to be a complete Part 10 file first, so a truncated or foreign
   * object is refused here and nothing is sent. Throws when the server reports any instance as failed.
   */
  async storeInstances(
    instances: Uint8Array[],
    options: { studyInstanceUID?: string } = {},
  ): Promise<StoreResult> {
    if (instances.length === 0)
      throw new NnsamError('nothing_to_store', 'storeInstances was given no instances');
    instances.forEach((bytes, n) => parsePart10(bytes, `instance ${n + 1} of ${instances.length} to store`));
    const datasets = instances.map(
      (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer,
    );
    const path = options.studyInstanceUID ? `/studies/${options.studyInstanceUID}` : '/studies';
    const answer = await this.call(`STOW-RS ${path}`, (request) =>
      this.client.storeInstances({
        datasets,
        ...(options.studyInstanceUID ? { studyInstanceUID: options.studyInstanceUID } : {}),
        request,
      }),
    );
    const result = parseStoreAnswer(answer, `${this.url}${path}`);
    if (result.failed.length) {
      throw new NnsamError(
        'dicomweb_store_failed',
        `${this.url}${path} refused ${result.failed.length} of ${instances.length} instance(s): ` +
          result.failed
            .map((f) => `${f.sopInstanceUID ?? '?'} (failure reason ${f.reason ?? '?'})`)
            .join(', '),
        { status: 502 },
      );
    }
    if (result.stored.length === 0) {
      throw new NnsamError('dicomweb_store_failed', `${this.url}${path} stored none of the instances`, {
        status: 502,
      });
    }
    return { stored: result.stored, ...(result.retrieveURL ? { retrieveURL: result.retrieveURL } : {}) };
  }

  /** Runs one request with a fresh XMLHttpRequest, timeout, retries and clear errors. */
  private async call<T>(what: string, send: (request: { instance: unknown }) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const xhr = new XHR2() as unknown as XhrLike;
      xhr.timeout = this.timeoutMs;
      let timedOut = false;
      xhr.ontimeout = () => {
        timedOut = true;
      };
      try {
        return await send({ instance: xhr });
      } catch (e) {
        const status = (e as HttpError).status;
        if (typeof status !== 'number') throw e; // not an HTTP failure (a bug or bad arguments)
        const retryable = status === 0 || status === 429 || status >= 500;
        if (!retryable || attempt >= this.retries)
          throw this.describe(e as HttpError, what, timedOut, attempt + 1);
        const delay = this.backoffMs * 2 ** attempt;
        this.logger.warn('DICOMweb request failed; retrying', {
          request: what,
          status: timedOut ? 'timeout' : status,
          attempt: attempt + 1,
          delayMs: delay,
        });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private describe(e: HttpError, what: string, timedOut: boolean, attempts: number): NnsamError {
    const status = e.status ?? 0;
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    if (status === 0 && timedOut) {
      return new NnsamError(
        'dicomweb_timeout',
        `DICOMweb server ${this.url} sent nothing for ${this.timeoutMs} ms on ${what}${tries}`,
        { status: 504, hint: 'The PACS is overloaded or unreachable; try again later or raise the timeout.' },
      );
    }
    if (status === 0 && e.truncated) {
      return new NnsamError(
        'dicomweb_incomplete',
        `DICOMweb server ${this.url} cut off its answer to ${what}${tries}`,
        {
          status: 502,
          hint: 'The PACS closed the connection mid-answer (stopped or restarted?); retry later.',
        },
      );
    }
    if (status === 0) {
      return new NnsamError(
        'dicomweb_unreachable',
        `Cannot reach the DICOMweb server ${this.url} (${what})${tries}`,
        {
          status: 502,
          hint: 'Check that the PACS is running and that the DICOMweb URL is right.',
        },
      );
    }
    const said = serverMessage(e.response);
    const detail = said ? `: ${said}` : '';
    if (status === 401 || status === 403) {
      return new NnsamError(
        'dicomweb_unauthorized',
        `DICOMweb server ${this.url} refused ${what} with HTTP ${status}${detail}`,
        { status, hint: 'The credentials (Authorization header) are missing, expired or not allowed.' },
      );
    }
    if (status === 404) {
      return new NnsamError(
        'dicomweb_not_found',
        `DICOMweb server ${this.url} has no ${what.replace(/^\S+ /, '')}${detail}`,
        {
          status: 404,
        },
      );
    }
    if (status >= 500 || status === 429) {
      return new NnsamError(
        'dicomweb_server_error',
        `DICOMweb server ${this.url} failed ${what} with HTTP ${status}${tries}${detail}`,
        { status: 502 },
      );
    }
    return new NnsamError(
      'dicomweb_bad_request',
      `DICOMweb server ${this.url} rejected ${what} with HTTP ${status}${detail}`,
      {
        status: 502,
      },
    );
  }
}

function withQuery(query: QueryParams): { queryParams?: QueryParams } {
  return Object.keys(query).length ? { queryParams: query } : {};
}

/** A short text from an error response body (Orthanc sends JSON with Message/Details). */
function serverMessage(response: unknown): string {
  let text = '';
  if (typeof response === 'string') text = response;
  else if (response instanceof ArrayBuffer) text = new TextDecoder().decode(response.slice(0, 2000));
  else if (response && typeof response === 'object') text = JSON.stringify(response);
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const parts = [json.Message, json.Details].filter((v) => typeof v === 'string' && v);
    if (parts.length) return parts.join(' - ');
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** The first string value of a DICOM JSON attribute (tag as 8 hex digits). */
export function jsonValue(obj: DicomJson | undefined, tag: string): string | undefined {
  const v = obj?.[tag.toUpperCase()]?.Value?.[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return (v as { Alphabetic?: string }).Alphabetic;
  return String(v);
}

function parseStoreAnswer(
  answer: unknown,
  where: string,
): {
  stored: StoredInstance[];
  failed: { sopInstanceUID?: string; reason?: number }[];
  retrieveURL?: string;
} {
  let json: DicomJson;
  try {
    json = (typeof answer === 'string' ? JSON.parse(answer) : answer) as DicomJson;
  } catch {
    throw new NnsamError(
      'dicomweb_bad_answer',
      `${where} answered STOW-RS with something that is not DICOM JSON`,
      {
        status: 502,
      },
    );
  }
  if (!json || typeof json !== 'object') {
    throw new NnsamError('dicomweb_bad_answer', `${where} answered STOW-RS with an empty body`, {
      status: 502,
    });
  }
  const items = (tag: string) => (json[tag]?.Value ?? []) as DicomJson[];
  const stored = items(TAG.ReferencedSOPSequence).map((i) => ({
    sopClassUID: jsonValue(i, TAG.ReferencedSOPClassUID) ?? '',
    sopInstanceUID: jsonValue(i, TAG.ReferencedSOPInstanceUID) ?? '',
    ...(jsonValue(i, TAG.RetrieveURL) ? { retrieveURL: jsonValue(i, TAG.RetrieveURL)! } : {}),
  }));
  const failed = items(TAG.FailedSOPSequence).map((i) => ({
    ...(jsonValue(i, TAG.ReferencedSOPInstanceUID)
      ? { sopInstanceUID: jsonValue(i, TAG.ReferencedSOPInstanceUID)! }
      : {}),
    ...(jsonValue(i, TAG.FailureReason) ? { reason: Number(jsonValue(i, TAG.FailureReason)) } : {}),
  }));
  const retrieveURL = jsonValue(json, TAG.RetrieveURL);
  return { stored, failed, ...(retrieveURL ? { retrieveURL } : {}) };
}
