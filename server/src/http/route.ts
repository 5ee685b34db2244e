/**
 * One declaration per endpoint: method, path, schemas and handler. The same list mounts the Express routes
 * (validating params, query and body with zod before the handler runs) and generates /api/openapi.json,
 * so the document cannot drift from the code.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';

import type { Principal } from './auth.js';

type AnyObject = z.ZodType<Record<string, unknown>>;

export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /** The caller's Authorization header, for deployments that forward it to the PACS. */
  authorization: string | undefined;
  req: Request;
  res: Response;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Path under /api in Express syntax (`/projects/:projectId`). */
  path: string;
  summary: string;
  tag: string;
  /** No authentication (health, OpenAPI document). */
  public?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * Body media types when it is not JSON (model archives): read as raw bytes whatever the request's
   * Content-Type says; the first is the one the document names first.
   */
  bodyTypes?: string[];
  /** What the body must be beyond its media type, for the document (e.g. "a tar.gz made by ..."). */
  bodyDescription?: string;
  /**
   * Refusals the schemas cannot state (cross-field rules, what the PACS or the store holds), documented as
   * responses of their own beside the generic 4XX: status -> when.
   */
  refusals?: Partial<Record<400 | 404 | 409 | 413 | 503, string>>;
  response?: z.ZodType;
  responseType?: string;
  status?: number;
  /** Counts against the job-creation rate limit. */
  createsJob?: boolean;
  /** The handler writes the response itself (SSE streams, files); its return value is ignored. */
  raw?: boolean;
  handler(input: HandlerInput<P, Q, B>): Promise<unknown> | unknown;
}

export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec {
  return spec as RouteSpec;
}

export type { AnyObject };
