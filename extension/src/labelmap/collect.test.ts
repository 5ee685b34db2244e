import { describe, expect, it } from 'vitest';

import { frameNumberOf } from './collect.js';

describe('frameNumberOf', () => {
  it('reads the frame of a WADO-RS or WADO-URI image id of a multi-frame instance', () => {
    const wadors = 'wadors:/dicom-web/studies/1/series/2/instances/3/frames/4';
    expect(frameNumberOf(wadors, 10)).toBe(4);
    expect(frameNumberOf(`${wadors}?x=1`, '10')).toBe(4);
    expect(frameNumberOf('wadouri:/wado?objectUID=3&frame=2', 5)).toBe(2);
  });

  it('leaves single-frame images without a frame number', () => {
    expect(frameNumberOf('wadors:/dicom-web/studies/1/series/2/instances/3/frames/1', 1)).toBeUndefined();
    expect(
      frameNumberOf('wadors:/dicom-web/studies/1/series/2/instances/3/frames/1', undefined),
    ).toBeUndefined();
  });
});
