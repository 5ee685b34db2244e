import { z } from 'zod';

import { ErrorBody } from '../api/index.js';
import type { RouteSpec } from './route.js';

// JSON Schema 2020-12, as OpenAPI 3.1 uses it: unlike 3.0 it states record key patterns (propertyNames).
// Each schema's `$schema` is dropped: 2020-12 is the document's own dialect.
function schema(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(s, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: ({ jsonSchema: js }) => {
      // a tuple of one item type (an RGB colour) as the plain array it is: the same constraint, and
      // schemathesis 4.32 rewrites prefixItems into a 3.0-style items list it then calls invalid
      const prefix = js.prefixItems;
      if (Array.isArray(prefix) && prefix.every((p) => JSON.stringify(p) === JSON.stringify(prefix[0]))) {
        delete js.prefixItems;
        js.items = prefix[0];
      }
    },
  });
  return rest;
}

const errorContent = () => ({ 'application/json': { schema: schema(ErrorBody, 'output') } });

/** The OpenAPI 3.1 document of the routes, generated from their zod schemas. */
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
              ...(r.bodyDescription ? { description: r.bodyDescription } : {}),
              content: r.bodyTypes
                ? Object.fromEntries(
                    r.bodyTypes.map((t) => [t, { schema: { type: 'string', contentMediaType: t } }]),
                  )
                : { 'application/json': { schema: schema(r.body, 'input') } },
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
        ...Object.fromEntries(
          Object.entries(r.refusals ?? {}).map(([status, when]) => [
            status,
            { description: when, content: errorContent() },
          ]),
        ),
        '4XX': {
          description: 'The request is wrong; the body says what and where.',
          content: errorContent(),
        },
      },
      ...(r.public ? { security: [] } : {}),
    };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
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
