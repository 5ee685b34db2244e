// The viewer's labelmap in its wire form (RLE, base64) -> a label volume on the series, placed by UID.
import { beforeAll, describe, expect, it } from 'vitest';

import { encodeLabelSlice, type LabelmapPayload } from '../api/index.js';
import { loadSeriesFromFiles, type DicomSeries } from '../dicom/index.js';
import { createLogger } from '../util/logger.js';
import { labelmapToVolume } from './labelmap.js';
import { fixture } from '../../../test/support/dicom-tools.js';

const quiet = createLogger({}, { sink: () => undefined });
let single: DicomSeries;
let multi: DicomSeries;
beforeAll(async () => {
  single = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'image'), { logger: quiet });
  multi = await loadSeriesFromFiles(fixture('dcmqi', '24x38x3', 'multiframe'), { logger: quiet });
});

const [nx, ny] = [24, 38];

/** A slice whose label value at (i, j) encodes both, so a transposed or shifted slice cannot match. */
function slicePattern(seed: number): Uint8Array {
  const out = new Uint8Array(nx * ny);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) if (i > j / 2 + seed) out[i + nx * j] = 1 + ((i + seed) % 3);
  return out;
}

function payload(series: DicomSeries, slices: LabelmapPayload['slices']): LabelmapPayload {
  return {
    encoding: 'rle-u8-v1',
    studyInstanceUID: series.meta.studyInstanceUID,
    seriesInstanceUID: series.meta.seriesInstanceUID,
    rows: ny,
    columns: nx,
    slices,
    segments: [{ labelValue: 1, label: 'Liver' }],
  };
}

describe('viewer labelmap -> label volume', () => {
  it('puts each painted slice on the slice of its SOP Instance UID, whatever the payload order', () => {
    // the viewer sends the last slice first
    const p = payload(single, [
      { sopInstanceUID: single.slices[2]!.sopInstanceUID, labels: encodeLabelSlice(slicePattern(5)) },
      { sopInstanceUID: single.slices[0]!.sopInstanceUID, labels: encodeLabelSlice(slicePattern(1)) },
    ]);
    const { labels, labelledSlices, segments } = labelmapToVolume(p, single);
    expect(labelledSlices).toEqual([0, 2]);
    expect(segments).toEqual([{ labelValue: 1, label: 'Liver' }]);
    expect(labels.geometry).toEqual(single.volume.geometry);
    const perSlice = nx * ny;
    expect(Array.from(labels.data.subarray(0, perSlice))).toEqual(Array.from(slicePattern(1)));
    expect(labels.data.subarray(perSlice, 2 * perSlice).every((v) => v === 0)).toBe(true);
    expect(Array.from(labels.data.subarray(2 * perSlice))).toEqual(Array.from(slicePattern(5)));
  });

  it('matches frames of a multi-frame series by frame number', () => {
    const uid = multi.slices[0]!.sopInstanceUID;
    const { labels, labelledSlices } = labelmapToVolume(
      payload(multi, [{ sopInstanceUID: uid, frameNumber: 2, labels: encodeLabelSlice(slicePattern(3)) }]),
      multi,
    );
    expect(labelledSlices).toEqual([1]);
    expect(Array.from(labels.data.subarray(nx * ny, 2 * nx * ny))).toEqual(Array.from(slicePattern(3)));
    expect(() =>
      labelmapToVolume(
        payload(multi, [{ sopInstanceUID: uid, labels: encodeLabelSlice(slicePattern(3)) }]),
        multi,
      ),
    ).toThrow(/needs a frame number of multi-frame instance/);
  });

  it('refuses labels painted on another series or on an unknown image', () => {
    const other = {
      ...payload(single, [
        { sopInstanceUID: single.slices[0]!.sopInstanceUID, labels: encodeLabelSlice(slicePattern(1)) },
      ]),
    };
    other.seriesInstanceUID = '2.25.1';
    expect(() => labelmapToVolume(other, single)).toThrow(
      /painted on series 2\.25\.1 but the loaded series is .*569139/,
    );
    const stranger = payload(single, [
      { sopInstanceUID: '2.25.42', labels: encodeLabelSlice(slicePattern(1)) },
    ]);
    expect(() => labelmapToVolume(stranger, single)).toThrow(
      /label on the wrong series: SOP Instance 2\.25\.42 is not an image of series .*569139/,
    );
  });

  it('refuses slices of another size, duplicates and damaged RLE', () => {
    const uid = single.slices[1]!.sopInstanceUID;
    const wrongSize = {
      ...payload(single, [{ sopInstanceUID: uid, labels: encodeLabelSlice(new Uint8Array(38 * 38)) }]),
      columns: 38,
    };
    expect(() => labelmapToVolume(wrongSize, single)).toThrow(
      /slices are 38x38 \(columns x rows\) but the images of series .* are 24x38/,
    );
    const twice = payload(single, [
      { sopInstanceUID: uid, labels: encodeLabelSlice(slicePattern(1)) },
      { sopInstanceUID: uid, labels: encodeLabelSlice(slicePattern(2)) },
    ]);
    expect(() => labelmapToVolume(twice, single)).toThrow(/holds slice .* \(k = 1\) twice/);
    const short = payload(single, [{ sopInstanceUID: uid, labels: encodeLabelSlice(new Uint8Array(100)) }]);
    expect(() => labelmapToVolume(short, single)).toThrow(
      new RegExp(
        `label slice ${uid.replace(/\./g, '\\.')}: labelmap RLE decodes to 100 pixels, expected 912`,
      ),
    );
    expect(() => labelmapToVolume({ encoding: 'png' }, single)).toThrow(/labelmap: encoding/);
  });
});
