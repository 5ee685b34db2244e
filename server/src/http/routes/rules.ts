import { z } from 'zod';

import { Id, Job, Rule, RuleCreate, StableStudyHook } from '../../api/index.js';
import { SegmentJobPayload } from '../../jobs/payloads.js';
import { publicJob } from '../../store/index.js';
import { NnsamError } from '../../util/errors.js';
import type { AppContext } from '../context.js';
import { route, type RouteSpec } from '../route.js';

/** Series that carry no images to segment (our own SEGs among them: the hook must not loop). */
const NON_IMAGE_MODALITIES = new Set([
  'SEG',
  'RTSTRUCT',
  'SR',
  'PR',
  'KO',
  'REG',
  'RWV',
  'DOC',
  'PLAN',
  'RTPLAN',
  'RTDOSE',
]);

export function ruleRoutes(ctx: AppContext): RouteSpec[] {
  const { store } = ctx;
  return [
    route({
      method: 'get',
      path: '/rules',
      summary: 'Auto-segmentation rules applied when Orthanc reports a new stable study.',
      tag: 'rules',
      response: z.array(Rule),
      handler: () => store.rules.list(),
    }),
    route({
      method: 'post',
      path: '/rules',
      summary:
        'Add a rule: series of this modality whose description matches a pattern are segmented with a model.',
      tag: 'rules',
      body: RuleCreate,
      response: Rule,
      status: 201,
      refusals: { 404: 'The modelId or projectId names no model or project.' },
      handler: ({ body }) => {
        if (body.modelId) store.models.get(body.modelId);
        if (body.projectId) store.projects.get(body.projectId);
        return store.rules.create(body);
      },
    }),
    route({
      method: 'delete',
      path: '/rules/:ruleId',
      summary: 'Remove a rule.',
      tag: 'rules',
      params: z.object({ ruleId: Id }).strict(),
      status: 204,
      handler: ({ params }) => store.rules.remove(params.ruleId),
    }),
    route({
      method: 'post',
      path: '/hooks/orthanc/stable-study',
      summary:
        'Called by the Orthanc Lua hook (server/src/orthanc/on-stable-study.lua) when a study is stable: queues a segment job for every series a rule matches (once per series and rule).',
      tag: 'rules',
      body: StableStudyHook,
      response: z.object({ jobs: z.array(Job) }),
      status: 202,
      createsJob: true,
      handler: async ({ body }) => {
        const rules = store.rules.list().filter((r) => r.enabled);
        if (!rules.length) return { jobs: [] };
        const series = await ctx.services.studySeries(body.studyInstanceUID);
        const jobs = [];
        for (const s of series) {
          if (NON_IMAGE_MODALITIES.has(s.modality)) continue;
          for (const rule of rules) {
            if (rule.modality && rule.modality !== s.modality) continue;
            if (rule.seriesDescription && !new RegExp(rule.seriesDescription, 'i').test(s.seriesDescription))
              continue;
            const modelId =
              rule.modelId ?? (rule.projectId ? store.models.latestOfProject(rule.projectId)?.id : undefined);
            const model = modelId ? store.models.find(modelId) : undefined;
            if (!modelId || !model) {
              ctx.log.warn('hook rule has no model to run', { ruleId: rule.id });
              continue;
            }
            const payload = SegmentJobPayload.parse({
              modelId,
              model: { name: model.name, encoder: model.encoder, classes: model.classes },
              studyInstanceUID: body.studyInstanceUID,
              seriesInstanceUID: s.seriesInstanceUID,
              store: true,
              returnSeg: false,
              ruleId: rule.id,
            });
            const job = store.db.transaction(() => {
              if (store.rules.hasFired(s.seriesInstanceUID, rule.id)) return undefined;
              const j = store.jobs.create('segment', payload, { modelId });
              store.rules.markFired(body.studyInstanceUID, s.seriesInstanceUID, rule.id, j.id);
              return j;
            })();
            if (job) {
              await ctx.queue.enqueue(job.id);
              jobs.push(publicJob(store.jobs.get(job.id)));
            }
          }
        }
        if (!series.length)
          throw new NnsamError(
            'study_not_found',
            `The PACS has no series for study ${body.studyInstanceUID}.`,
            { status: 404 },
          );
        return { jobs };
      },
    }),
  ];
}
