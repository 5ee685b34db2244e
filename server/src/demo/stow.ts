/**
 * Stores DICOM Part 10 files on a DICOMweb server with STOW-RS (one multipart/related request), so the demo
 * can load its study into Orthanc or any other DICOMweb server the same way.
 * (The full DICOMweb client of server/src/dicom may replace this once it lands; the demo needs only this.)
 */
import { randomBytes } from 'node:crypto';

import { NnsamError } from '../util/errors.js';

export interface StowOptions {
  /** extra request headers, e.g. { authorization: 'Bearer ...' } */
  headers?: Record<string, string>;
  /** store into this study's URL (…/studies/<uid>) instead of …/studies */
  studyInstanceUID?: string;
}

export async function stowInstances(
  dicomWebUrl: string,
  files: Uint8Array[],
  options: StowOptions = {},
): Promise<void> {
  if (!files.length) return;
  const boundary = `nnsam-${randomBytes(12).toString('hex')}`;
  const parts: Uint8Array[] = [];
  for (const file of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      file,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const base = dicomWebUrl.replace(/\/+$/, '');
  const url = options.studyInstanceUID ? `${base}/studies/${options.studyInstanceUID}` : `${base}/studies`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        Accept: 'application/dicom+json',
        ...options.headers,
      },
      body: Buffer.concat(parts),
    });
  } catch (e) {
    throw new NnsamError('dicomweb_unreachable', `STOW-RS to ${url} failed: ${(e as Error).message}.`, {
      status: 502,
      hint: 'Check that the DICOMweb server is running and the URL is right.',
      cause: e,
    });
  }
  const text = await res.text();
  // Part 18: 200 all stored, 202 some failed or were coerced, 409 none stored
  const failed = failedCount(text);
  if (!res.ok || res.status === 202 || failed > 0) {
    throw new NnsamError(
      'stow_failed',
      `STOW-RS to ${url} answered ${res.status}${failed ? ` with ${failed} of ${files.length} instances failed` : ''}.`,
      { status: 502, hint: 'See the DICOMweb server log for why it refused the instances.' },
    );
  }
}

/** Number of items in the response's Failed SOP Sequence (0008,1198). */
function failedCount(body: string): number {
  try {
    const json = JSON.parse(body) as Record<string, { Value?: unknown[] }>;
    return json['00081198']?.Value?.length ?? 0;
  } catch {
    return 0;
  }
}
