import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';

import { fromSystemError, isNnsamError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

/** Validation failures become 400 with every problem and where it is; nothing here answers with a stack. */
export function zodToBody(e: ZodError, where: string) {
  return {
    error: {
      code: 'invalid_request',
      message: `Invalid ${where}: ${e.issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; ')}`,
      issues: e.issues.map((i) => ({ path: [where, ...i.path].join('.'), message: i.message })),
    },
  };
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (thrown, req, res, _next) => {
    const err = fromSystemError(thrown);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof ZodError) {
      res.status(400).json(zodToBody(err, 'request'));
      return;
    }
    if (isNnsamError(err)) {
      if (err.status >= 500)
        log.warn('request failed', { method: req.method, path: req.route?.path, code: err.code });
      if (err.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
      res
        .status(err.status)
        .json({ error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } });
      return;
    }
    // body-parser errors carry a status and a type
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.too.large') {
      res.status(413).json({
        error: {
          code: 'payload_too_large',
          message: 'The request body is larger than the server accepts.',
          hint: 'Send fewer slices per request, or raise NNSAM_MAX_BODY_BYTES.',
        },
      });
      return;
    }
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({
        error: { code: 'invalid_json', message: `The request body is not valid JSON: ${e.message}` },
      });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: { code: 'bad_request', message: e.message ?? 'Bad request.' } });
      return;
    }
    log.error('unhandled error', { method: req.method, path: req.route?.path, error: err });
    res.status(500).json({
      error: {
        code: 'internal_error',
        message: 'The server failed to handle the request; its log has the details.',
      },
    });
  };
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({
    error: {
      code: 'not_found',
      message: `No endpoint ${req.method} ${req.path}.`,
      hint: 'See /api/openapi.json.',
    },
  });
};
