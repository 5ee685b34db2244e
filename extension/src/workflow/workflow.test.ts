import type { Example } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { HEART_PROJECT } from '../../../test/support/panel.js';
import { ExampleCreate } from '../../../server/src/api/index.js';
import type { NnsamApi } from '../api/client.js';
import { resolveConfig } from '../config.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet } from '../ohif/types.js';
import { Workflow } from './workflow.js';

const project = HEART_PROJECT;

/**
 * A workflow over a fake viewer (one viewport showing `shown`, or nothing) and a fake API that stores what
 * is posted: enough for the labels-section actions, which never touch cornerstone.
 */
async function workflowWith(shown: DisplaySet | undefined) {
  let stored: Example[] = [];
  const posted: unknown[] = [];
  const notes: string[] = [];
  const trained: unknown[] = [];
  const api = {
    projects: async () => [project],
    examples: async () => stored,
    jobs: async () => [],
    addExample: async (projectId: string, body: ExampleCreate) => {
      posted.push(body);
      const example: Example = {
        id: `ex${stored.length + 1}`,
        projectId,
        studyInstanceUID: body.studyInstanceUID,
        seriesInstanceUID: body.seriesInstanceUID,
        sourceKind: body.source.kind,
        labelledSlices: [],
        labelledSOPInstanceUIDs: [],
        classesPresent: [],
        createdAt: 'now',
      };
      stored = [...stored, example];
      return example;
    },
    train: async (...args: unknown[]) => void trained.push(args),
  } as unknown as NnsamApi;
  const ctx = {
    services: {
      viewportGridService: {
        getActiveViewportId: () => 'vp1',
        getDisplaySetsUIDsForViewport: () => (shown ? [shown.displaySetInstanceUID] : []),
      },
      displaySetService: {
        getDisplaySetByUID: () => shown,
        getActiveDisplaySets: () => (shown ? [shown] : []),
      },
      uiNotificationService: { show: (n: { message: string }) => void notes.push(n.message) },
    },
  } as unknown as OhifContext;
  const workflow = new Workflow(ctx, api, resolveConfig(undefined, undefined), {
    getItem: () => null,
    setItem: () => undefined,
  });
  await workflow.projects.load();
  return { workflow, posted, notes, trained };
}

const venous: DisplaySet = {
  displaySetInstanceUID: 'ds1',
  StudyInstanceUID: '1.2',
  SeriesInstanceUID: '1.2.3',
  SeriesNumber: 4,
  SeriesDescription: 'CT venous',
  Modality: 'CT',
  imageIds: ['wadors:a', 'wadors:b'],
};

describe('Workflow: the series on screen unlabelled', () => {
  it('sends the active series as an image-only example the contract accepts, and lists it', async () => {
    const { workflow, posted, notes } = await workflowWith(venous);
    const example = await workflow.labels.addSeriesUnlabelled();
    expect(posted).toEqual([
      { studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3', source: { kind: 'image' } },
    ]);
    expect(ExampleCreate.parse(posted[0])).toEqual(posted[0]);
    expect(workflow.labels.state.examples).toEqual([example]);
    expect(workflow.labels.state.error).toBeNull();
    expect(notes).toEqual(['Added S4 CT venous to "Heart" unlabelled (images only).']);
  });

  it('says what to do when no image series is on screen, in the labels section too', async () => {
    const { workflow, posted } = await workflowWith(undefined);
    await expect(workflow.labels.addSeriesUnlabelled()).rejects.toMatchObject({ code: 'no_series' });
    expect(workflow.labels.state.error?.message).toBe('The active viewport shows no image series.');
    expect(posted).toEqual([]);
  });

  it('does not train on unlabelled series alone: it asks for labelled slices first', async () => {
    const { workflow, trained } = await workflowWith(venous);
    await workflow.labels.addSeriesUnlabelled();
    await expect(workflow.training.train({ minutes: 1, encoder: 'none' })).rejects.toMatchObject({
      code: 'no_labelled_slices',
      hint: expect.stringMatching(/Add labelled slices/),
    });
    expect(trained).toEqual([]);
  });
});
