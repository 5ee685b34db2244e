/** Routes of projects and their training examples, training and dataset export (/api/projects/...). */
import { z } from 'zod';

import { Example, ExampleCreate, Id, Job, Project, ProjectCreate, TrainRequest } from '../../api/index.js';
import { TrainJobPayload } from '../../jobs/payloads.js';
import { newId, publicExample, publicJob } from '../../store/index.js';
import { requireLabelledExamples } from '../../services/index.js';
import { NnsamError } from '../../util/errors.js';
import type { AppContext } from '../context.js';
import { route, type RouteSpec } from '../route.js';

const ProjectParams = z.object({ projectId: Id }).strict();
const ExampleParams = z.object({ projectId: Id, exampleId: Id }).strict();

export function projectRoutes(ctx: AppContext): RouteSpec[] {
  const { store } = ctx;
  return [
    route({
      method: 'get',
      path: '/projects',
      summary: 'List projects (named label sets).',
      tag: 'projects',
      response: z.array(Project),
      handler: () => store.projects.list(),
    }),
    route({
      method: 'post',
      path: '/projects',
      summary: 'Create a project: a name and its classes (value, name, colour, optional codes).',
      tag: 'projects',
      body: ProjectCreate,
      response: Project,
      status: 201,
      refusals: {
        400: 'Two classes share a value (invalid_request naming body.classes), or the body breaks its schema.',
      },
      handler: ({ body }) => store.projects.create(body),
    }),
    route({
      method: 'get',
      path: '/projects/:projectId',
      summary: 'One project.',
      tag: 'projects',
      params: ProjectParams,
      response: Project,
      handler: ({ params }) => store.projects.get(params.projectId),
    }),
    route({
      method: 'delete',
      path: '/projects/:projectId',
      summary: 'Delete a project and its training examples (its models stay, detached).',
      tag: 'projects',
      params: ProjectParams,
      status: 204,
      handler: async ({ params }) => {
        const busy = store.jobs.activeForProject(params.projectId, 'train');
        if (busy.length) {
          throw new NnsamError(
            'project_busy',
            `Project ${params.projectId} is training (job ${busy[0]!.id}).`,
            {
              status: 409,
              hint: 'Cancel the training job first.',
            },
          );
        }
        const examples = store.examples.list(params.projectId);
        store.projects.remove(params.projectId);
        await Promise.all(examples.map((e) => ctx.services.removeExampleFiles(e)));
      },
    }),
    route({
      method: 'get',
      path: '/projects/:projectId/examples',
      summary: 'The training set: series, labelled slices and classes of each example.',
      tag: 'projects',
      params: ProjectParams,
      response: z.array(Example),
      handler: ({ params }) => {
        store.projects.get(params.projectId);
        return store.examples.list(params.projectId).map(publicExample);
      },
    }),
    route({
      method: 'post',
      path: '/projects/:projectId/examples',
      summary:
        'Add a training example: a series plus labels, either painted in the viewer (compact labelmap) or a SEG already in the PACS, or the series alone, unlabelled (images only). The server checks them against the series.',
      tag: 'projects',
      params: ProjectParams,
      body: ExampleCreate,
      response: Example,
      status: 201,
      refusals: {
        400: 'The labels do not fit the series: painted on another series (label_on_wrong_series), another size, or label values the project lacks.',
        404: 'The project, or the study, series or SEG in the PACS, does not exist.',
        409: 'The series is already an image-only example of the project (duplicate_example).',
      },
      handler: async ({ params, body, authorization }) => {
        const project = store.projects.get(params.projectId);
        return publicExample(await ctx.services.addExample(project, body, authorization));
      },
    }),
    route({
      method: 'delete',
      path: '/projects/:projectId/examples/:exampleId',
      summary: 'Remove a training example.',
      tag: 'projects',
      params: ExampleParams,
      status: 204,
      handler: async ({ params }) => {
        const removed = store.examples.remove(params.projectId, params.exampleId);
        await ctx.services.removeExampleFiles(removed);
      },
    }),
    route({
      method: 'get',
      path: '/projects/:projectId/dataset',
      summary:
        "The project's training set as an nnU-Net v2 raw dataset (tar.gz of dataset.json, imagesTr/, labelsTr/): labelled slices as drawn, every other slice nnU-Net's ignore label; image-only examples left out. Unpack it into $nnUNet_raw/DatasetNNN_Name.",
      tag: 'projects',
      params: ProjectParams,
      responseType: 'application/gzip',
      raw: true,
      refusals: {
        404: 'The project does not exist, or a series of its examples is no longer in the PACS.',
        409: 'The project has no example, or no labelled slice (no_examples, no_labelled_slices), or two labels share a name.',
      },
      handler: async ({ params, authorization, res }) => {
        const project = store.projects.get(params.projectId);
        const archive = await ctx.services.exportDataset(
          project,
          store.examples.list(project.id),
          authorization,
        );
        res.setHeader('Content-Type', 'application/gzip');
        res.setHeader('Content-Disposition', `attachment; filename="${project.id}.nnunet.tar.gz"`);
        res.end(archive);
      },
    }),
    route({
      method: 'post',
      path: '/projects/:projectId/train',
      summary:
        "Train a model from the project's examples (budget in minutes, encoder). Returns the queued job.",
      tag: 'projects',
      params: ProjectParams,
      body: TrainRequest,
      response: Job,
      status: 202,
      refusals: {
        409: 'The project has no example, or no labelled slice (no_examples, no_labelled_slices).',
      },
      createsJob: true,
      handler: async ({ params, body, authorization }) => {
        const project = store.projects.get(params.projectId);
        const examples = store.examples.list(project.id);
        requireLabelledExamples(project, examples);
        const payload = TrainJobPayload.parse({
          projectId: project.id,
          projectName: project.name,
          modelId: newId('mdl'),
          classes: project.classes,
          examples: examples.map((e) => ({
            id: e.id,
            studyInstanceUID: e.studyInstanceUID,
            seriesInstanceUID: e.seriesInstanceUID,
            source: e.source,
          })),
          minutes: body.minutes,
          maxIterations: body.maxIterations,
          encoder: body.encoder,
          seed: body.seed,
          warmStartFrom: body.warmStart ? store.models.latestOfProject(project.id)?.id : undefined,
        });
        const job = store.jobs.create('train', payload, { projectId: project.id, modelId: payload.modelId });
        if (ctx.config.dicomweb.forwardViewerToken && authorization)
          ctx.forwardedTokens.set(job.id, authorization);
        await ctx.queue.enqueue(job.id);
        return publicJob(store.jobs.get(job.id));
      },
    }),
  ];
}
