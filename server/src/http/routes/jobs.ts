import { createReadStream, existsSync } from 'node:fs';

import { z } from 'zod';

import { Id, Job, JobKind, JobState, SegmentRequest, TERMINAL_STATES } from '../../api/index.js';
import { SegmentJobPayload } from '../../jobs/payloads.js';
import { publicJob } from '../../store/index.js';
import { NnsamError } from '../../util/errors.js';
import type { AppContext } from '../context.js';
import { route, type RouteSpec } from '../route.js';
import { streamJobEvents } from '../sse.js';

const JobParams = z.object({ jobId: Id }).strict();

export function jobRoutes(ctx: AppContext): RouteSpec[] {
  const { store } = ctx;
  return [
    route({
      method: 'post',
      path: '/segment',
      summary:
        'Segment a series with a model. Returns the queued job; when it succeeds its result names the DICOM SEG stored in the PACS (and, with returnSeg, where to download it).',
      tag: 'jobs',
      body: SegmentRequest,
      response: Job,
      status: 202,
      createsJob: true,
      handler: async ({ body, authorization }) => {
        const model = store.models.get(body.modelId);
        if (!body.store && !body.returnSeg) {
          throw new NnsamError(
            'nothing_to_do',
            'The request asks neither to store the SEG nor to return it.',
            {
              hint: 'Set store and/or returnSeg to true.',
            },
          );
        }
        const payload = SegmentJobPayload.parse({
          ...body,
          model: { name: model.name, encoder: model.encoder, classes: model.classes },
        });
        const job = store.jobs.create('segment', payload, { modelId: body.modelId });
        if (ctx.config.dicomweb.forwardViewerToken && authorization)
          ctx.forwardedTokens.set(job.id, authorization);
        await ctx.queue.enqueue(job.id);
        return publicJob(store.jobs.get(job.id));
      },
    }),
    route({
      method: 'get',
      path: '/jobs',
      summary: 'List jobs, newest first.',
      tag: 'jobs',
      query: z
        .object({
          state: JobState.optional(),
          kind: JobKind.optional(),
          projectId: Id.optional(),
          limit: z.coerce.number().int().min(1).max(1000).optional(),
        })
        .strict(),
      response: z.array(Job),
      handler: ({ query }) => store.jobs.list(query).map(publicJob),
    }),
    route({
      method: 'get',
      path: '/jobs/:jobId',
      summary: 'One job: state, progress, error (with a hint) or result.',
      tag: 'jobs',
      params: JobParams,
      response: Job,
      handler: ({ params }) => publicJob(store.jobs.get(params.jobId)),
    }),
    route({
      method: 'post',
      path: '/jobs/:jobId/cancel',
      summary: 'Cancel a queued or running job (a running trainer is stopped; nothing half-written is kept).',
      tag: 'jobs',
      params: JobParams,
      response: Job,
      handler: async ({ params }) => {
        const job = store.jobs.get(params.jobId);
        if (TERMINAL_STATES.includes(job.state)) {
          throw new NnsamError('job_finished', `Job ${job.id} already ended (${job.state}).`, {
            status: 409,
          });
        }
        await ctx.queue.cancel(job.id);
        return publicJob(store.jobs.get(job.id));
      },
    }),
    route({
      method: 'post',
      path: '/jobs/:jobId/retry',
      summary: 'Queue a failed, cancelled or interrupted job again.',
      tag: 'jobs',
      params: JobParams,
      response: Job,
      status: 202,
      createsJob: true,
      handler: async ({ params }) => {
        const job = store.jobs.get(params.jobId);
        if (!store.jobs.transition(job.id, ['failed', 'cancelled', 'interrupted'], 'queued')) {
          throw new NnsamError(
            'job_not_retryable',
            `Job ${job.id} is ${job.state}; only failed, cancelled or interrupted jobs can be retried.`,
            {
              status: 409,
            },
          );
        }
        await ctx.queue.enqueue(job.id);
        return publicJob(store.jobs.get(job.id));
      },
    }),
    route({
      method: 'get',
      path: '/jobs/:jobId/events',
      summary:
        "Server-Sent Events: state changes, progress (stage, done/total) and training metrics, in order. Resume with Last-Event-ID (or ?after=N). Ends after the final state. Browsers' EventSource may pass the token as ?access_token=.",
      tag: 'jobs',
      params: JobParams,
      query: z
        .object({ after: z.coerce.number().int().min(0).optional(), access_token: z.string().optional() })
        .strict(),
      responseType: 'text/event-stream',
      raw: true,
      handler: ({ params, query, req, res }) => {
        store.jobs.get(params.jobId);
        const lastId = Number(req.headers['last-event-id'] ?? query.after ?? 0);
        streamJobEvents(store, params.jobId, Number.isFinite(lastId) ? lastId : 0, req, res);
      },
    }),
    route({
      method: 'get',
      path: '/jobs/:jobId/seg',
      summary: 'Download the DICOM SEG of a segment job that asked for returnSeg.',
      tag: 'jobs',
      params: JobParams,
      responseType: 'application/dicom',
      raw: true,
      handler: ({ params, res }) => {
        const job = store.jobs.get(params.jobId);
        const file = store.resultFile(job.id);
        if (job.kind !== 'segment' || job.state !== 'succeeded' || !existsSync(file)) {
          throw new NnsamError(
            'seg_not_available',
            `Job ${job.id} has no SEG to download (${job.kind}, ${job.state}).`,
            {
              status: 404,
              hint: 'Only finished segment jobs created with returnSeg: true keep their SEG on the server.',
            },
          );
        }
        res.setHeader('Content-Type', 'application/dicom');
        res.setHeader('Content-Disposition', `attachment; filename="${job.id}.dcm"`);
        createReadStream(file).pipe(res);
      },
    }),
  ];
}
