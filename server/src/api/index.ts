/**
 * The HTTP contract between the server and the viewer extension: zod schemas and the TypeScript types
 * inferred from them. The extension imports this module (`@nnsam/server/api`); the server validates every
 * request with the same schemas and builds its OpenAPI document from them. Keep it free of Node-only imports.
 */
export * from './common.js';
export * from './info.js';
export * from './projects.js';
export * from './examples.js';
export * from './models.js';
export * from './jobs.js';
export * from './rules.js';
export * from './labelmap.js';
