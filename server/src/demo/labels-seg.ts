/**
 * The demo's labelled slices: a DICOM SEG with the phantom's ground truth on a few slices, stored next to
 * the study, so a first-time user can add it as a training example and train without painting first.
 */
import { DicomwebClient, loadSeriesFromDicomweb, writeSeg } from '../dicom/index.js';
import { version } from '../version.js';
import type { Phantom } from './phantom.js';

/** Slices (0-based, base to apex) the demo SEG labels: spread over the heart, as a user would pick them. */
export const DEMO_LABELLED_SLICES = [2, 7, 12, 17];
export const DEMO_SEG_DESCRIPTION = `Demo labels (${DEMO_LABELLED_SLICES.length} slices)`;

/** Writes the SEG and stores it with STOW-RS; returns its Series Instance UID. */
export async function storeDemoLabels(
  dicomWebUrl: string,
  phantom: Phantom,
  headers: Record<string, string> | undefined,
  slices: number[] = DEMO_LABELLED_SLICES,
): Promise<string> {
  const client = new DicomwebClient({ url: dicomWebUrl, ...(headers ? { headers } : {}) });
  const series = await loadSeriesFromDicomweb(client, phantom.studyInstanceUID, phantom.seriesInstanceUID);
  const [nx, ny, nz] = phantom.labels.geometry.dims;
  const plane = nx * ny;
  const sparse = new Uint8Array(phantom.labels.data.length);
  for (const k of slices.filter((k) => k < nz)) {
    sparse.set(phantom.labels.data.subarray(k * plane, (k + 1) * plane), k * plane);
  }
  const seg = writeSeg(
    { geometry: phantom.labels.geometry, data: sparse },
    series,
    phantom.labelNames,
    { name: 'nnSAM demo phantom', version, parameters: 'ground truth of the synthetic phantom' },
    { seriesDescription: DEMO_SEG_DESCRIPTION },
  );
  await client.storeInstances([seg.bytes]);
  return seg.seriesInstanceUID;
}
