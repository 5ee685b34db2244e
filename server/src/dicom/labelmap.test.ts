// paintedSlicesToVolume without the HTTP wire form: decoded slices placed by UID (the wire decoding is tested
// in services/labelmap.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';

import { createLogger } from '../util/logger.js';
import { paintedSlicesToVolume, type PaintedSlices } from './labelmap.js';
import { loadSeriesFromFiles, type DicomSeries } from './series.js';
import { fixture } from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
let single: DicomSeries;
beforeAll(async () => {
  single = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'image'), { logger: quiet });
});

function painted(slices: PaintedSlices['slices']): PaintedSlices {
  return { seriesInstanceUID: single.meta.seriesInstanceUID, rows: 38, columns: 24, slices, segments: [] };
}

describe('painted slices -> label volume', () => {
  it('places decoded values on the slice of their UID and reads a slice only once it is placed', () => {
    const read: string[] = [];
    const uid = single.slices[1]!.sopInstanceUID;
    const { labels, labelledSlices } = paintedSlicesToVolume(
      painted([{ sopInstanceUID: uid, values: (n) => (read.push(uid), new Uint8Array(n).fill(2)) }]),
      single,
    );
    expect(labelledSlices).toEqual([1]);
    expect(read).toEqual([uid]);
    expect(labels.data.subarray(24 * 38, 2 * 24 * 38).every((v) => v === 2)).toBe(true);
    expect(() =>
      paintedSlicesToVolume(
        painted([{ sopInstanceUID: '2.25.42', values: () => expect.unreachable('read a stranger') }]),
        single,
      ),
    ).toThrow(/label on the wrong series: SOP Instance 2\.25\.42/);
  });

  it('refuses a slice whose values cannot be read or have another length', () => {
    const uid = single.slices[0]!.sopInstanceUID;
    const damaged = painted([
      {
        sopInstanceUID: uid,
        values: () => {
          throw new Error('bad stream');
        },
      },
    ]);
    expect(() => paintedSlicesToVolume(damaged, single)).toThrow(`label slice ${uid}: bad stream`);
    const short = painted([{ sopInstanceUID: uid, values: () => new Uint8Array(10) }]);
    expect(() => paintedSlicesToVolume(short, single)).toThrow(/10 values, expected 912/);
  });
});
