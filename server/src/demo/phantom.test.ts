import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { makePhantom, PHANTOM_PATIENT, uidFor } from './phantom.js';

const exec = promisify(execFile);
const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: {
      readFile(b: ArrayBuffer): { dict: Record<string, unknown>; meta: Record<string, unknown> };
    };
    DicomMetaDictionary: { naturalizeDataset(d: Record<string, unknown>): Record<string, unknown> };
  };
};
const read = (bytes: Uint8Array) => {
  const file = dcmjs.data.DicomMessage.readFile(bytes.slice().buffer);
  return {
    ds: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict),
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.meta),
  };
};

const phantom = makePhantom();

describe('demo phantom', () => {
  it('is deterministic: same seed, same pixels and UIDs; another seed, other noise and UIDs', () => {
    const again = makePhantom();
    expect(again.studyInstanceUID).toBe(phantom.studyInstanceUID);
    expect(again.instances.map((i) => i.sopInstanceUID)).toEqual(
      phantom.instances.map((i) => i.sopInstanceUID),
    );
    expect(
      Buffer.compare(Buffer.from(again.instances[7]!.bytes), Buffer.from(phantom.instances[7]!.bytes)),
    ).toBe(0);
    const other = makePhantom({ seed: 2 });
    expect(other.studyInstanceUID).not.toBe(phantom.studyInstanceUID);
    expect(other.labels.data).toEqual(phantom.labels.data); // anatomy does not depend on the seed
    expect(other.image.data).not.toEqual(phantom.image.data);
  });

  it('uses valid, distinct UUID-derived UIDs (2.25.<decimal>, at most 64 characters)', () => {
    const uids = [
      phantom.studyInstanceUID,
      phantom.seriesInstanceUID,
      phantom.frameOfReferenceUID,
      ...phantom.instances.map((i) => i.sopInstanceUID),
    ];
    for (const uid of uids) expect(uid).toMatch(/^2\.25\.(0|[1-9]\d{0,38})$/);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uidFor(1, 'study')).toBe(phantom.studyInstanceUID);
  });

  it('writes MR instances that read back with the geometry and pixels of the volume', () => {
    const { dims, spacing, origin } = phantom.image.geometry;
    expect(dims).toEqual([192, 192, 20]);
    expect(phantom.instances).toHaveLength(20);
    for (const k of [0, 19]) {
      const { ds, meta } = read(phantom.instances[k]!.bytes);
      expect(meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
      expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.4');
      expect(ds.Modality).toBe('MR');
      expect(ds.PatientName).toEqual([{ Alphabetic: PHANTOM_PATIENT.name }]);
      expect(ds.InstanceNumber).toBe(k + 1);
      expect(ds.ImagePositionPatient).toEqual([origin[0], origin[1], origin[2] + k * spacing[2]]);
      expect(ds.PixelSpacing).toEqual([spacing[1], spacing[0]]);
      expect([ds.Rows, ds.Columns]).toEqual([192, 192]);
      const pixels = new Uint16Array((ds.PixelData as ArrayBuffer[])[0]!);
      expect(pixels).toEqual(phantom.image.data.subarray(k * 192 * 192, (k + 1) * 192 * 192));
    }
  });

  it('passes dciodvfy (the DICOM standard validator) without errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nnsam-phantom-'));
    try {
      const file = join(dir, 'slice.dcm');
      await writeFile(file, phantom.instances[3]!.bytes);
      const { stdout, stderr } = await exec('dciodvfy', [file]).catch(
        (e: { stdout: string; stderr: string }) => e,
      );
      const report = `${stdout}\n${stderr}`;
      expect(report).toMatch(/MRImage/);
      expect(report.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has the anatomy the demo relies on: RV, myocardium and LV, shrinking towards the apex', () => {
    const slice = 192 * 192;
    const area = (k: number, label: number) => {
      let n = 0;
      for (let p = k * slice; p < (k + 1) * slice; p++) if (phantom.labels.data[p] === label) n++;
      return n;
    };
    for (const label of [1, 2, 3]) expect(area(0, label), `label ${label} at the base`).toBeGreaterThan(300);
    expect(area(19, 1)).toBe(0); // no RV at the apex
    for (let k = 1; k < 20; k++) expect(area(k, 3)).toBeLessThanOrEqual(area(k - 1, 3) + 10);
    // neighbouring slices differ a little, never completely (what few-shot learning needs)
    let changed = 0;
    for (let p = 0; p < slice; p++) if (phantom.labels.data[p] !== phantom.labels.data[slice + p]) changed++;
    expect(changed).toBeGreaterThan(10);
    expect(changed).toBeLessThan(area(0, 3));
    // contrast: blood pool brighter than myocardium, both above air
    const mean = (label: number) => {
      let s = 0;
      let n = 0;
      for (let p = 0; p < slice; p++) {
        if (phantom.labels.data[p] === label) {
          s += phantom.image.data[p]!;
          n++;
        }
      }
      return s / n;
    };
    expect(mean(3)).toBeGreaterThan(2 * mean(2));
    expect(phantom.image.data[0]).toBeLessThan(100); // a corner of the field of view is air
  });

  it('refuses sizes it cannot make', () => {
    expect(() => makePhantom({ size: 10 })).toThrow(/size 10/);
    expect(() => makePhantom({ slices: 1 })).toThrow(/slice count 1/);
  });
});
