import type { LabelmapPayload } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { HEART_PROJECT } from '../../../test/support/panel.js';
import type { Segmentation } from '../ohif/types.js';
import { checkClasses, classValuesOfSegments, segmentIndexOfClass } from './classes.js';

const project = HEART_PROJECT;
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
