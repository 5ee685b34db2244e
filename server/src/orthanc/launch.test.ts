import { describe, expect, it } from 'vitest';

import { startOrthanc } from './launch.js';

describe('private Orthanc', () => {
  it('starts on loopback with DICOMweb and stops cleanly', async () => {
    const orthanc = await startOrthanc();
    try {
      const system = (await (await fetch(`${orthanc.url}/system`)).json()) as Record<string, unknown>;
      expect(system.Version).toMatch(/^1\./);
      const qido = await fetch(`${orthanc.dicomWebUrl}/studies`, {
        headers: { Accept: 'application/dicom+json' },
      });
      expect(qido.status).toBe(200);
      expect(await qido.json()).toEqual([]);
      // the DICOM listener is off: only the HTTP port is open
      const config = JSON.parse(
        await (await import('node:fs/promises')).readFile(`${orthanc.dir}/orthanc.json`, 'utf8'),
      );
      expect(config.RemoteAccessAllowed).toBe(false);
      expect(config.DicomServerEnabled).toBe(false);
    } finally {
      await orthanc.stop();
    }
    await expect(fetch(`${orthanc.url}/system`)).rejects.toThrow();
  });
});
