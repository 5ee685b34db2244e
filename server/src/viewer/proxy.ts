/**
 * A streaming reverse proxy for DICOMweb, so the viewer reaches the PACS on its own origin (no CORS, and
 * the same cookies/headers as the page). The browser's Host header goes through unchanged by default:
 * Orthanc writes absolute retrieve URLs (BulkDataURI, RetrieveURL) from it, and those must point back at
 * this proxy, not at Orthanc's loopback port.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

import type { Request, RequestHandler, Response } from 'express';

import { NnsamError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ module: 'viewer.proxy' });

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection and are never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface DicomWebProxyOptions {
  /** DICOMweb root of the upstream server, e.g. http://127.0.0.1:8042/dicom-web */
  upstream: string;
  /**
   * Forward the browser's Host header (default true: right for Orthanc, which builds retrieve URLs from
   * it). Set false for an upstream behind virtual hosting that needs its own host name.
   */
  preserveHost?: boolean;
  /** Headers added to every upstream request, e.g. { authorization: 'Bearer ...' } for a protected PACS. */
  headers?: Record<string, string>;
}

/** Parses and checks a DICOMweb root URL; throws an NnsamError naming the bad value. */
export function parseUpstream(upstream: string): URL {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new NnsamError('invalid_dicomweb_url', `The DICOMweb URL "${upstream}" is not a URL.`, {
      hint: 'Give an absolute http(s) URL of a DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NnsamError(
      'invalid_dicomweb_url',
      `The DICOMweb URL "${upstream}" uses ${url.protocol}; only http and https are supported.`,
    );
  }
  if (url.search || url.hash) {
    throw new NnsamError(
      'invalid_dicomweb_url',
      `The DICOMweb URL "${upstream}" must not carry ?query or #hash.`,
    );
  }
  return url;
}

/** Express handler to mount at the DICOMweb prefix: `router.use('/dicom-web', dicomWebProxy({...}))`. */
export function dicomWebProxy(options: DicomWebProxyOptions): RequestHandler {
  const upstream = parseUpstream(options.upstream);
  const basePath = upstream.pathname.replace(/\/+$/, '');
  const send = upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  const preserveHost = options.preserveHost ?? true;

  return (req: Request, res: Response) => {
    const path = upstreamPath(basePath, req.url);
    if (!path) {
      // '..' or encoded separators could step out of the DICOMweb root into the PACS's admin API
      res.status(400).json({
        error: {
          code: 'bad_dicomweb_path',
          message: `The path ${req.originalUrl} leaves the DICOMweb root.`,
        },
      });
      return;
    }
    const headers = forwardHeaders(req.headers);
    headers.host = preserveHost && req.headers.host ? req.headers.host : upstream.host;
    headers['x-forwarded-host'] = req.headers.host ?? '';
    headers['x-forwarded-proto'] = req.protocol;
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean);
    headers['x-forwarded-for'] = forwardedFor.join(', ');
    Object.assign(headers, lowerKeys(options.headers ?? {}));

    const upstreamReq = send(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port || undefined,
        method: req.method,
        path,
        headers,
      },
      (upstreamRes: IncomingMessage) => {
        res.status(upstreamRes.statusCode ?? 502);
        for (const [name, value] of Object.entries(forwardHeaders(upstreamRes.headers))) {
          if (value !== undefined) res.setHeader(name, value);
        }
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
      log.warn('DICOMweb upstream failed', { upstream: upstream.origin, code: err.code, path: req.path });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.status(502).json({
        error: {
          code: 'dicomweb_unreachable',
          message: `The DICOMweb server ${upstream.origin}${basePath} did not answer (${err.code ?? err.message}).`,
          hint: 'Check that the PACS is running and that the nnSAM server was given the right DICOMweb URL.',
        },
      });
    });
    // a browser that goes away must not leave the upstream transfer running
    res.on('close', () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  };
}

/**
 * The upstream request path for a request path below the mount point, or undefined when it would not
 * stay below the upstream's DICOMweb root (dot segments, also percent-encoded, and encoded slashes or
 * backslashes, which some servers decode before routing).
 */
export function upstreamPath(basePath: string, url: string): string | undefined {
  if (/%2f|%5c|\\/i.test(url)) return undefined;
  const target = new URL(basePath + url, 'http://upstream');
  if (target.pathname !== basePath && !target.pathname.startsWith(`${basePath}/`)) return undefined;
  if (target.pathname.split('/').some((segment) => segment === '..' || segment === '.')) return undefined;
  return target.pathname + target.search;
}

function forwardHeaders(input: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionListed = String(input.connection ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const [name, value] of Object.entries(input)) {
    const key = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(key) || connectionListed.includes(key)) continue;
    out[key] = value;
  }
  return out;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
