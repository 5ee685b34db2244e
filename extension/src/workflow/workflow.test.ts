import type { LabelmapPayload, Project } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { checkClasses } from './workflow.js';

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
