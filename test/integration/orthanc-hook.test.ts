/**
 * The Orthanc hook end to end: Orthanc runs our Lua script (server/orthanc/nnsam-hook.lua), a new study
 * becomes stable, Orthanc posts it to the server, a rule matches its MR series, and a SEG appears in Orthanc.
 */
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { encodeLabelSlice } from '../../server/src/api/labelmap.js';
import { DicomwebClient, jsonValue } from '../../server/src/dicom/index.js';
import { freePort } from '../../server/src/util/net.js';
import { serverRoot } from '../../server/src/util/paths.js';
import { startApiStack, storePhantom, TOKEN, waitForJob, type ApiStack } from '../support/api.js';

let stack: ApiStack;

beforeAll(async () => {
  const port = await freePort();
  stack = await startApiStack({
    port,
    orthanc: {
      luaScripts: [join(serverRoot, 'orthanc', 'nnsam-hook.lua')],
      extraConfig: { StableAge: 1, NnsamHook: { Url: `http://127.0.0.1:${port}`, Token: TOKEN } },
    },
  });
}, 60_000);
afterAll(async () => stack?.stop());

it(
  'segments a new study on arrival and stores exactly one SEG per matching series',
  { timeout: 400_000 },
  async () => {
    const labelled = await storePhantom(stack.orthanc, 11, 8);
    const project = await stack.call('POST', '/api/projects', {
      name: 'Hook',
      classes: [
        { value: 1, name: 'Right ventricle' },
        { value: 2, name: 'Myocardium' },
        { value: 3, name: 'Left ventricle' },
      ],
    });
    const [nx, ny] = labelled.labels.geometry.dims;
    const k = 4;
    await stack.call('POST', `/api/projects/${project.body.id}/examples`, {
      studyInstanceUID: labelled.studyInstanceUID,
      seriesInstanceUID: labelled.seriesInstanceUID,
      source: {
        kind: 'labelmap',
        labelmap: {
          encoding: 'rle-u8-v1',
          studyInstanceUID: labelled.studyInstanceUID,
          seriesInstanceUID: labelled.seriesInstanceUID,
          rows: ny,
          columns: nx,
          slices: [
            {
              sopInstanceUID: labelled.instances.find((i) => i.slice === k)!.sopInstanceUID,
              labels: encodeLabelSlice(labelled.labels.data.subarray(k * nx * ny, (k + 1) * nx * ny)),
            },
          ],
        },
      },
    });
    const train = await stack.call('POST', `/api/projects/${project.body.id}/train`, {
      minutes: 2,
      maxIterations: 4,
      encoder: 'none',
    });
    expect((await waitForJob(stack, train.body.id, ['succeeded', 'failed'])).state).toBe('succeeded');
    const rule = await stack.call('POST', '/api/rules', {
      name: 'cardiac MR',
      modality: 'MR',
      seriesDescription: 'phantom',
      projectId: project.body.id,
    });
    expect(rule.status).toBe(201);

    // a new study arrives
    const arriving = await storePhantom(stack.orthanc, 12, 8);
    const client = new DicomwebClient({ url: stack.orthanc.dicomWebUrl });
    const segSeries = async () =>
      (await client.searchForSeries(arriving.studyInstanceUID)).filter(
        (s) => jsonValue(s, '00080060') === 'SEG',
      );
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline && (await segSeries()).length === 0)
      await new Promise((r) => setTimeout(r, 500));
    expect(await segSeries()).toHaveLength(1);

    const jobs = (await stack.call('GET', '/api/jobs?kind=segment')).body as { state: string }[];
    expect(jobs.map((j) => j.state)).toEqual(['succeeded']);
    // the stored SEG makes the study stable again: the hook fires, and nothing new is queued
    await new Promise((r) => setTimeout(r, 4000));
    expect((await stack.call('GET', '/api/jobs?kind=segment')).body).toHaveLength(1);
    expect(await segSeries()).toHaveLength(1);
  },
);
