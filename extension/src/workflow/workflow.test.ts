import type { Example, LabelmapPayload, Project } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { ExampleCreate } from '../../../server/src/api/index.js';
import type { NnsamApi } from '../api/client.js';
import { resolveConfig } from '../config.js';
import type { OhifContext } from '../ohif/context.js';
import type { DisplaySet, Segmentation } from '../ohif/types.js';
import { checkClasses, classValuesOfSegments, segmentIndexOfClass, Workflow } from './workflow.js';

const project: Project = {
  id: 'p1',
  name: 'Heart',
  classes: [
    { value: 1, name: 'RV' },
    { value: 3, name: 'LV' },
  ],
  createdAt: 'now',
  exampleCount: 0,
  latestModelId: null,
};
const labelmap = (values: number[]): LabelmapPayload => ({
  encoding: 'rle-u8-v1',
  studyInstanceUID: '1',
  seriesInstanceUID: '2',
  rows: 1,
  columns: 1,
  slices: [{ sopInstanceUID: '3', labels: 'AQE=' }],
  segments: values.map((labelValue) => ({ labelValue, label: `Segment ${labelValue}` })),
});

describe('checkClasses', () => {
  it('accepts label values that are classes of the project', () => {
    expect(() => checkClasses(labelmap([1, 3]), project)).not.toThrow();
  });

  it('refuses the others, naming them, the project classes and what to do', () => {
    expect(() => checkClasses(labelmap([1, 2]), project)).toThrow(
      /segment 2 \("Segment 2"\), which project "Heart" does not have \(its classes: 1 RV, 3 LV\)/,
    );
    try {
      checkClasses(labelmap([2]), project);
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(/Start labelling/);
    }
  });
});

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
  await workflow.loadProjects();
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
    const example = await workflow.addSeriesUnlabelled();
    expect(posted).toEqual([
      { studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3', source: { kind: 'image' } },
    ]);
    expect(ExampleCreate.parse(posted[0])).toEqual(posted[0]);
    expect(workflow.state.examples).toEqual([example]);
    expect(workflow.state.labelsError).toBeNull();
    expect(notes).toEqual(['Added S4 CT venous to "Heart" unlabelled (images only).']);
  });

  it('says what to do when no image series is on screen, in the labels section too', async () => {
    const { workflow, posted } = await workflowWith(undefined);
    await expect(workflow.addSeriesUnlabelled()).rejects.toMatchObject({ code: 'no_series' });
    expect(workflow.state.labelsError?.message).toBe('The active viewport shows no image series.');
    expect(posted).toEqual([]);
  });

  it('does not train on unlabelled series alone: it asks for labelled slices first', async () => {
    const { workflow, trained } = await workflowWith(venous);
    await workflow.addSeriesUnlabelled();
    await expect(workflow.train({ minutes: 1, encoder: 'none' })).rejects.toMatchObject({
      code: 'no_labelled_slices',
      hint: expect.stringMatching(/Add labelled slices/),
    });
    expect(trained).toEqual([]);
  });
});

describe("an nnSAM result's segments and the project's classes", () => {
  // the server's SEG numbers segments 1..n in class order and names them after the classes
  const result: Segmentation = {
    segmentationId: 'seg',
    label: 'nnSAM Heart',
    segments: { 1: { segmentIndex: 1, label: 'RV' }, 2: { segmentIndex: 2, label: 'lv ' } },
    representationData: { Labelmap: { imageIds: [] } },
  };

  it('maps segment indices to class values by name, and back', () => {
    expect(classValuesOfSegments(result, project)).toEqual({ 1: 1, 2: 3 });
    expect(segmentIndexOfClass(result, project, 3)).toBe(2);
  });

  it('refuses a segment that is no class, naming it and the classes', () => {
    const extra = { ...result, segments: { ...result.segments, 3: { segmentIndex: 3, label: 'Aorta' } } };
    expect(() => classValuesOfSegments(extra, project)).toThrow(
      /Segment 3 \("Aorta"\) of "nnSAM Heart" is not a class of project "Heart" \(its classes: RV, LV\)/,
    );
    const onlyRv = { ...result, segments: { 1: result.segments[1] } };
    expect(() => segmentIndexOfClass(onlyRv, project, 3)).toThrow(/has no segment for LV/);
  });
});
