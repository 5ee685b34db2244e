/**
 * The Express application: /api routes (validated, authenticated, documented by /api/openapi.json).
 * The viewer mounts its own router beside /api on the same app.
 */
import express, { type Express, type Request, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { z } from 'zod';

import { createAuthenticator, type Principal } from './auth.js';
import type { AppContext } from './context.js';
import { cors } from './cors.js';
import { errorHandler, notFound, zodToBody } from './errors.js';
import { methodNotAllowed } from './methods.js';
import { openApiDocument } from './openapi.js';
import type { RouteSpec } from './route.js';
import { jobRoutes } from './routes/jobs.js';
import { modelRoutes } from './routes/models.js';
import { projectRoutes } from './routes/projects.js';
import { ruleRoutes } from './routes/rules.js';
import { systemRoutes } from './routes/system.js';

export function apiRoutes(ctx: AppContext): RouteSpec[] {
  return [
    ...systemRoutes(ctx),
    ...projectRoutes(ctx),
    ...modelRoutes(ctx),
    ...jobRoutes(ctx),
    ...ruleRoutes(ctx),
  ];
}

export function createApp(ctx: AppContext, app: Express = express()): Express {
  const routes = apiRoutes(ctx);
  const authenticate = createAuthenticator(ctx.config, ctx.store);
  const document = openApiDocument(routes, ctx.version);
  const jobLimiter = rateLimit({
    windowMs: 60_000,
    limit: ctx.config.limits.jobsPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) =>
      (req.res?.locals.principal as Principal | undefined)?.id ?? ipKeyGenerator(req.ip ?? 'unknown'),
    handler: (_req, res) =>
      res.status(429).json({
        error: {
          code: 'rate_limited',
          message: `Too many jobs: at most ${ctx.config.limits.jobsPerMinute} per minute per client.`,
          hint: 'Wait a minute, or raise NNSAM_JOBS_PER_MINUTE.',
        },
      }),
  });

  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const api = express.Router();
  api.use(cors(ctx.config.cors.origins));
  api.use(requestLog(ctx));
  api.use(methodNotAllowed([...routes, { method: 'get', path: '/openapi.json' }]));
  api.get('/openapi.json', (_req, res) => void res.json(document));

  for (const r of routes) {
    const handlers: express.RequestHandler[] = [];
    // authenticate before reading a body: an unauthenticated caller cannot make the server parse 256 MB
    handlers.push(async (req, res, next) => {
      try {
        if (!r.public) {
          const header =
            req.headers.authorization ??
            (r.raw && typeof req.query.access_token === 'string'
              ? `Bearer ${req.query.access_token}`
              : undefined);
          res.locals.principal = await authenticate(header);
        } else {
          res.locals.principal = { kind: 'local', id: 'anonymous' };
        }
        next();
      } catch (e) {
        next(e);
      }
    });
    if (r.createsJob) handlers.push(jobLimiter);
    if (r.bodyTypes) {
      handlers.push(express.raw({ type: () => true, limit: ctx.config.limits.bodyBytes }));
    } else if (r.body) {
      handlers.push(express.json({ limit: ctx.config.limits.bodyBytes, strict: true, type: () => true }));
    }
    handlers.push(async (req: Request, res: Response, next) => {
      try {
        if (r.body && req.body === undefined) {
          res.status(400).json({ error: { code: 'invalid_request', message: 'The request needs a body.' } });
          return;
        }
        const parts = [
          parse(r.params, req.params, 'path parameters'),
          parse(r.query, { ...req.query }, 'query'),
          parse(r.body, req.body, 'body'),
        ] as const;
        const bad = parts.find((p) => !p.ok);
        if (bad && !bad.ok) {
          res.status(400).json(bad.error);
          return;
        }
        const [params, query, body] = parts.map((p) => (p.ok ? p.value : undefined));
        const result = await r.handler({
          params,
          query,
          body,
          principal: res.locals.principal as Principal,
          authorization: req.headers.authorization,
          req,
          res,
        });
        if (r.raw) return;
        if (r.status === 204) res.status(204).end();
        else res.status(r.status ?? 200).json(result);
      } catch (e) {
        next(e);
      }
    });
    api[r.method](r.path, ...handlers);
  }
  api.use(notFound);
  api.use(errorHandler(ctx.log));
  app.use('/api', api);
  return app;
}

/** Parses one part of the request against its schema (parts without a schema pass through). */
function parse(
  schema: z.ZodType | undefined,
  value: unknown,
  where: string,
): { ok: true; value: unknown } | { ok: false; error: ReturnType<typeof zodToBody> } {
  if (!schema) return { ok: true, value };
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, error: zodToBody(result.error, where) };
}

/** One structured line per request: method, route pattern (no ids or query strings), status, duration, caller. */
function requestLog(ctx: AppContext): express.RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const principal = res.locals.principal as Principal | undefined;
      ctx.log.info('http', {
        method: req.method,
        route: req.route?.path ?? 'unmatched',
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        caller: principal?.id,
      });
    });
    next();
  };
}
