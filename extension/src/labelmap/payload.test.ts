import { decodeLabelSlice, LabelmapPayload } from '@nnsam/server/api';
import { describe, expect, it } from 'vitest';

import { ViewerError } from '../errors.js';
import { buildLabelmapPayload, type PaintedSlice } from './payload.js';

const empty = (uid: string): PaintedSlice => ({
  sopInstanceUID: uid,
  rows: 4,
  columns: 3,
  labels: new Uint8Array(12),
});
const painted = (uid: string, at: Record<number, number>, frameNumber?: number): PaintedSlice => {
  const labels = new Uint8Array(12);
  for (const [i, v] of Object.entries(at)) labels[Number(i)] = v;
  return { sopInstanceUID: uid, frameNumber, rows: 4, columns: 3, labels };
};
const base = { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4' };

describe('buildLabelmapPayload', () => {
  it('keeps only the labelled slices, in series order, each decoding to its labels', () => {
    const slices = [empty('1.1'), painted('1.2', { 0: 1, 5: 2 }), empty('1.3'), painted('1.4', { 11: 1 })];
    const payload = buildLabelmapPayload({
      ...base,
      slices,
      segmentNames: { 1: 'Liver', 2: 'Spleen', 3: 'Unused' },
    });
    expect(LabelmapPayload.parse(payload)).toEqual(payload);
    expect(payload.slices.map((s) => s.sopInstanceUID)).toEqual(['1.2', '1.4']);
    expect([payload.rows, payload.columns]).toEqual([4, 3]);
    expect(decodeLabelSlice(payload.slices[0]!.labels, 12)).toEqual(slices[1]!.labels);
    expect(decodeLabelSlice(payload.slices[1]!.labels, 12)).toEqual(slices[3]!.labels);
    // names only for the values that occur
    expect(payload.segments).toEqual([
      { labelValue: 1, label: 'Liver' },
      { labelValue: 2, label: 'Spleen' },
    ]);
  });

  it('keys frames of a multi-frame instance by frame number, and names unnamed values', () => {
    const payload = buildLabelmapPayload({ ...base, slices: [painted('9.9', { 1: 7 }, 3)] });
    expect(payload.slices[0]).toMatchObject({ sopInstanceUID: '9.9', frameNumber: 3 });
    expect(payload.segments).toEqual([{ labelValue: 7, label: 'Segment 7' }]);
  });

  it('sends a slice marked as showing none of the classes as an all-background labelled slice', () => {
    const negative = { ...empty('1.5'), negative: true };
    const payload = buildLabelmapPayload({
      ...base,
      slices: [empty('1.1'), negative, painted('1.2', { 0: 1 })],
    });
    expect(LabelmapPayload.parse(payload)).toEqual(payload);
    expect(payload.slices.map((s) => s.sopInstanceUID)).toEqual(['1.5', '1.2']);
    expect(decodeLabelSlice(payload.slices[0]!.labels, 12)).toEqual(new Uint8Array(12));
    // a negative alone is a valid payload: no segments, one labelled slice
    const alone = buildLabelmapPayload({ ...base, slices: [negative] });
    expect(alone.slices).toHaveLength(1);
    expect(alone.segments).toEqual([]);
    // marked as empty but painted: refused, naming the slice
    expect(() =>
      buildLabelmapPayload({ ...base, slices: [{ ...painted('1.6', { 3: 2 }), negative: true }] }),
    ).toThrow(/Slice 1\.6 is marked as showing none of the classes but carries labels/);
  });

  it('says what to do when nothing is painted', () => {
    const run = () => buildLabelmapPayload({ ...base, slices: [empty('1.1')] });
    expect(run).toThrow(ViewerError);
    expect(run).toThrow(/No slice of series 1\.2\.3\.4 carries labels/);
    try {
      run();
    } catch (e) {
      expect((e as ViewerError).hint).toMatch(/Paint at least one slice/);
    }
  });

  it('refuses slices of another size, label values over 255 and duplicated slices, naming the slice', () => {
    const big: PaintedSlice = {
      sopInstanceUID: '2.2',
      rows: 2,
      columns: 2,
      labels: Uint8Array.from([0, 1, 0, 0]),
    };
    expect(() => buildLabelmapPayload({ ...base, slices: [painted('1.1', { 0: 1 }), big] })).toThrow(
      /Slice 2\.2 is 2x2 but the other labelled slices are 3x4/,
    );
    const wide = {
      ...painted('3.3', {}),
      labels: Uint16Array.from({ length: 12 }, (_, i) => (i === 4 ? 300 : 0)),
    };
    expect(() => buildLabelmapPayload({ ...base, slices: [wide] })).toThrow(
      /Slice 3\.3 holds label value 300/,
    );
    expect(() =>
      buildLabelmapPayload({ ...base, slices: [painted('1.1', { 0: 1 }), painted('1.1', { 1: 1 })] }),
    ).toThrow(/Slice 1\.1 appears twice/);
    const short = { ...painted('4.4', { 0: 1 }), labels: Uint8Array.from([1, 0]) };
    expect(() => buildLabelmapPayload({ ...base, slices: [short] })).toThrow(/has 2 values, expected 4x3/);
  });

  it("checks the contract's limits itself, naming what is over (the schema stays out of the bundle)", () => {
    const long = `1.${'2'.repeat(70)}`;
    expect(() => buildLabelmapPayload({ ...base, slices: [painted(long, { 0: 1 })] })).toThrow(
      /the UID "1\.2+", which is empty or longer than 64 characters/,
    );
    const many = Array.from({ length: 4097 }, (_, n) => painted(`1.${n}`, { 0: 1 }));
    expect(() => buildLabelmapPayload({ ...base, slices: many })).toThrow(
      /4097 labelled slices \(at most 4096\)/,
    );
    // every payload it builds passes the server's own schema
    const ok = buildLabelmapPayload({ ...base, slices: many.slice(0, 4096) });
    expect(LabelmapPayload.safeParse(ok).success).toBe(true);
  });
});
