import { z } from 'zod';

import { Id, Model } from '../../api/index.js';
import { NnsamError } from '../../util/errors.js';
import type { AppContext } from '../context.js';
import { route, type RouteSpec } from '../route.js';

const ModelParams = z.object({ modelId: Id }).strict();

export function modelRoutes(ctx: AppContext): RouteSpec[] {
  const { store } = ctx;
  return [
    route({
      method: 'get',
      path: '/models',
      summary: 'List trained models (optionally of one project).',
      tag: 'models',
      query: z.object({ projectId: Id.optional() }).strict(),
      response: z.array(Model),
      handler: ({ query }) => store.models.list(query.projectId),
    }),
    route({
      method: 'get',
      path: '/models/:modelId',
      summary: 'One model: classes, encoder, metrics.',
      tag: 'models',
      params: ModelParams,
      response: Model,
      handler: ({ params }) => store.models.get(params.modelId),
    }),
    route({
      method: 'get',
      path: '/models/:modelId/plan',
      summary: "The model's plan (nnU-Net-style JSON: spacing, normalization, patch size, topology).",
      tag: 'models',
      params: ModelParams,
      handler: ({ params }) => {
        store.models.get(params.modelId);
        return ctx.services.modelPlan(params.modelId);
      },
    }),
    route({
      method: 'delete',
      path: '/models/:modelId',
      summary: 'Delete a model (refused while a job uses it).',
      tag: 'models',
      params: ModelParams,
      status: 204,
      handler: async ({ params }) => {
        store.models.get(params.modelId);
        const busy = store.jobs.activeForModel(params.modelId);
        if (busy.length) {
          throw new NnsamError('model_in_use', `Model ${params.modelId} is in use by job ${busy[0]!.id}.`, {
            status: 409,
            hint: 'Wait for the job to finish or cancel it, then delete the model.',
          });
        }
        store.models.remove(params.modelId);
        await ctx.services.removeModelFiles(params.modelId);
      },
    }),
    route({
      method: 'get',
      path: '/models/:modelId/export',
      summary: 'Download the model as one archive (tar.gz with a checksummed manifest).',
      tag: 'models',
      params: ModelParams,
      responseType: 'application/gzip',
      raw: true,
      handler: async ({ params, res }) => {
        const model = store.models.get(params.modelId);
        const stream = await ctx.services.exportModel(model);
        res.setHeader('Content-Type', 'application/gzip');
        res.setHeader('Content-Disposition', `attachment; filename="${model.id}.nnsam.tar.gz"`);
        stream.pipe(res);
      },
    }),
    route({
      method: 'post',
      path: '/models/import',
      summary: 'Import a model archive made by /models/{id}/export (checked before anything is stored).',
      tag: 'models',
      body: z.instanceof(Buffer),
      // what export sends; octet-stream for clients that send any file as one
      bodyTypes: ['application/gzip', 'application/octet-stream'],
      bodyDescription: 'A model archive exactly as GET /api/models/{modelId}/export wrote it (tar.gz).',
      refusals: {
        400: 'The body is not a complete nnSAM model archive (invalid_archive), or its checksums fail.',
      },
      response: Model,
      status: 201,
      handler: ({ body }) => ctx.services.importModel(body),
    }),
  ];
}
