import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startOrthanc, type OrthancInstance } from '../orthanc/launch.js';
import { makePhantom } from './phantom.js';
import { stowInstances } from './stow.js';

let orthanc: OrthancInstance;
beforeAll(async () => {
  orthanc = await startOrthanc();
});
afterAll(async () => {
  await orthanc?.stop();
});

describe('stowInstances', () => {
  it('stores a series on a real DICOMweb server in one request', async () => {
    const phantom = makePhantom({ size: 64, slices: 4 });
    await stowInstances(
      orthanc.dicomWebUrl,
      phantom.instances.map((i) => i.bytes),
    );
    const found = (await (
      await fetch(`${orthanc.dicomWebUrl}/studies/${phantom.studyInstanceUID}/instances`, {
        headers: { Accept: 'application/dicom+json' },
      })
    ).json()) as Array<Record<string, { Value: string[] }>>;
    expect(found.map((i) => i['00080018']!.Value[0]).sort()).toEqual(
      phantom.instances.map((i) => i.sopInstanceUID).sort(),
    );
  });

  it('fails with the server and the reason when instances are refused or the server is gone', async () => {
    await expect(stowInstances(orthanc.dicomWebUrl, [new Uint8Array([1, 2, 3])])).rejects.toThrow(
      /STOW-RS to http:\/\/127\.0\.0\.1:\d+\/dicom-web\/studies answered/,
    );
    await expect(stowInstances('http://127.0.0.1:9/dicom-web', [new Uint8Array([1])])).rejects.toThrow(
      /STOW-RS to http:\/\/127\.0\.0\.1:9\/dicom-web\/studies failed/,
    );
  });
});
