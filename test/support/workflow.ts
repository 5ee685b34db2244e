/**
 * The steps most reliability tests start from: a project with the phantom's classes and one training
 * example painted on a few slices, and a small trained model. Works with any caller that has `call`
 * (the in-process stack of api.ts or a `nnsam serve` child of serve-child.ts).
 */
import { encodeLabelSlice, type LabelmapPayload } from '../../server/src/api/labelmap.js';
import type { Phantom } from '../../server/src/demo/phantom.js';
import { waitForJob, type ApiStack } from './api.js';

type Caller = Pick<ApiStack, 'call'>;

export const PHANTOM_CLASSES = [
  { value: 1, name: 'Right ventricle', color: [0, 120, 255] },
  { value: 2, name: 'Myocardium', color: [255, 200, 0] },
  { value: 3, name: 'Left ventricle', color: [255, 40, 40] },
];

/** The viewer's labelmap payload for some slices of a phantom (its ground truth). */
export function labelmapOf(p: Phantom, slices: number[]): LabelmapPayload {
  const [nx, ny] = p.labels.geometry.dims;
  return {
    encoding: 'rle-u8-v1',
    studyInstanceUID: p.studyInstanceUID,
    seriesInstanceUID: p.seriesInstanceUID,
    rows: ny,
    columns: nx,
    slices: slices.map((k) => ({
      sopInstanceUID: p.instances.find((i) => i.slice === k)!.sopInstanceUID,
      labels: encodeLabelSlice(p.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny)),
    })),
  };
}

/** Creates a project and adds one labelmap example on `slices` of the phantom; returns the project id. */
export async function projectWithExample(
  api: Caller,
  p: Phantom,
  slices: number[],
  name = 'Heart',
): Promise<string> {
  const project = await api.call('POST', '/api/projects', { name, classes: PHANTOM_CLASSES });
  if (project.status !== 201) throw new Error(`project: ${project.status} ${JSON.stringify(project.body)}`);
  const example = await api.call('POST', `/api/projects/${project.body.id}/examples`, {
    studyInstanceUID: p.studyInstanceUID,
    seriesInstanceUID: p.seriesInstanceUID,
    source: { kind: 'labelmap', labelmap: labelmapOf(p, slices) },
  });
  if (example.status !== 201) throw new Error(`example: ${example.status} ${JSON.stringify(example.body)}`);
  return project.body.id as string;
}

/** Trains a tiny model (a few iterations: enough for a valid model, not a good one); returns its id. */
export async function trainTiny(api: Caller, projectId: string, maxIterations = 4): Promise<string> {
  const job = await api.call('POST', `/api/projects/${projectId}/train`, {
    minutes: 5,
    maxIterations,
    encoder: 'none',
    seed: 1,
  });
  if (job.status !== 202) throw new Error(`train: ${job.status} ${JSON.stringify(job.body)}`);
  const done = await waitForJob(api, job.body.id, ['succeeded', 'failed', 'cancelled', 'interrupted']);
  if (done.state !== 'succeeded')
    throw new Error(`training ended ${done.state}: ${JSON.stringify(done.error)}`);
  return done.result.modelId as string;
}

/** Polls a job until its progress reaches one of the stages (e.g. the trainer is running). */
export async function waitForStage(
  api: Caller,
  jobId: string,
  stages: string[],
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = (await api.call('GET', `/api/jobs/${jobId}`)).body;
    if (stages.includes(j.progress?.stage)) return;
    if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(j.state))
      throw new Error(
        `job ${jobId} ended ${j.state} before reaching ${stages.join('/')}: ${JSON.stringify(j.error)}`,
      );
    if (Date.now() > deadline)
      throw new Error(`job ${jobId} did not reach ${stages.join('/')}: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
