import { z } from 'zod';

import { ErrorBody } from '../api/index.js';
import type { RouteSpec } from './route.js';

const schema = (s: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;

/** The OpenAPI 3.0 document of the routes, generated from their zod schemas. */
export function openApiDocument(routes: RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = '/api' + r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, s] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!s) continue;
      const js = schema(s, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, p] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (js.required ?? []).includes(name),
          schema: p,
        });
      }
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path.replace(/[/:]+([a-zA-Z])/g, (_m, c: string) => c.toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: {
                [r.bodyType ?? 'application/json']: {
                  schema: r.bodyType ? { type: 'string', format: 'binary' } : schema(r.body, 'input'),
                },
              },
            },
          }
        : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'Success',
          ...(r.response
            ? {
                content: { [r.responseType ?? 'application/json']: { schema: schema(r.response, 'output') } },
              }
            : r.responseType
              ? { content: { [r.responseType]: { schema: { type: 'string', format: 'binary' } } } }
              : {}),
        },
        '4XX': {
          description: 'The request is wrong; the body says what and where.',
          content: { 'application/json': { schema: schema(ErrorBody, 'output') } },
        },
      },
      ...(r.public ? { security: [] } : {}),
    };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'nnSAM server API',
      version,
      description: 'Few-shot nnSAM segmentation for DICOMweb servers and the OHIF viewer.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
