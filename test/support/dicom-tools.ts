/**
 * Helpers for the DICOM tests: fixture paths, independent readers in the trainer's Python (pydicom,
 * SimpleITK, nibabel) and the dciodvfy validator. Not used by the product code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { repoRoot, sharedDataDir, trainerPython } from '../../server/src/util/paths.js';

export function fixture(...parts: string[]): string {
  return sharedDataDir('dicom', ...parts);
}

export function tempDir(prefix = 'nnsam-dicom-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Python of the test-only environment (highdicom, schemathesis: tools the product never imports, pinned in
 * test/python-requirements.lock and installed by scripts/setup.sh apart from the trainer's).
 */
export function testToolsPython(): string {
  const bin = join(repoRoot, '.cache', 'test-venv', 'bin', 'python');
  if (!existsSync(bin))
    throw new Error(`The test tools' Python environment is missing (${bin}): run \`npm run setup\`.`);
  return bin;
}

/** Runs a Python script (by default in the trainer's environment) and parses the JSON it prints. */
export function python<T>(script: string, args: string[] = [], interpreter = trainerPython()): T {
  const out = execFileSync(interpreter, ['-c', script, ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: '1', ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS: '1' },
  });
  return JSON.parse(out) as T;
}

export function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** Unpacks little-endian bit order (numpy packbits bitorder="little") to 0/1 bytes. */
export function unpackLittle(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let n = 0; n < count; n++) out[n] = (bytes[n >> 3]! >> (n & 7)) & 1;
  return out;
}

export interface PyFrame {
  sop: string;
  refFrame: number | null;
  segment: number | null;
  ipp: number[] | null;
  /** the frame's pixels: BINARY/FRACTIONAL -> 0/1 (fractional thresholded at >= 0.5), LABELMAP -> values */
  pixels: Uint8Array;
}

/** Reads a SEG with pydicom (independently of our reader): per-frame references, positions, masks. */
export function pydicomSegFrames(path: string): {
  frames: PyFrame[];
  rows: number;
  columns: number;
  type: string;
} {
  const script = `
import base64, json, sys
import numpy as np, pydicom
d = pydicom.dcmread(sys.argv[1])
a = d.pixel_array
if a.ndim == 2:
    a = a[None]
kind = d.SegmentationType
if kind == 'FRACTIONAL':
    a = (a.astype(np.float64) / float(d.MaximumFractionalValue) >= 0.5).astype(np.uint8)
frames = []
shared = d.SharedFunctionalGroupsSequence[0] if 'SharedFunctionalGroupsSequence' in d else None
for n, f in enumerate(d.PerFrameFunctionalGroupsSequence):
    src = f.DerivationImageSequence[0].SourceImageSequence[0]
    seg = f.SegmentIdentificationSequence[0].ReferencedSegmentNumber if 'SegmentIdentificationSequence' in f else None
    ipp = [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient] if 'PlanePositionSequence' in f else None
    frames.append({'sop': str(src.ReferencedSOPInstanceUID),
                   'refFrame': int(src.ReferencedFrameNumber) if 'ReferencedFrameNumber' in src else None,
                   'segment': int(seg) if seg is not None else None, 'ipp': ipp,
                   'pixels': base64.b64encode(np.ascontiguousarray(a[n], dtype=np.uint8).tobytes()).decode()})
print(json.dumps({'frames': frames, 'rows': int(d.Rows), 'columns': int(d.Columns), 'type': kind}))`;
  const out = python<{
    frames: (Omit<PyFrame, 'pixels'> & { pixels: string })[];
    rows: number;
    columns: number;
    type: string;
  }>(script, [path]);
  return { ...out, frames: out.frames.map((f) => ({ ...f, pixels: fromBase64(f.pixels) })) };
}

/** SOP Instance UID and ImagePositionPatient of image files, read with pydicom. */
export function pydicomPositions(paths: string[]): Record<string, number[]> {
  const script = `
import json, sys, pydicom
out = {}
for p in sys.argv[1:]:
    d = pydicom.dcmread(p, stop_before_pixels=True)
    if 'PerFrameFunctionalGroupsSequence' in d:
        for n, f in enumerate(d.PerFrameFunctionalGroupsSequence):
            out[d.SOPInstanceUID + '#' + str(n + 1)] = [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient]
    else:
        uid = d.SOPInstanceUID or d.file_meta.MediaStorageSOPInstanceUID
        out[str(uid)] = [float(v) for v in d.ImagePositionPatient]
print(json.dumps(out))`;
  return python(script, paths);
}

export interface SitkImage {
  dims: number[];
  origin: number[];
  spacing: number[];
  direction: number[];
  data: Float64Array;
}

/**
 * Reads an image with SimpleITK (GDCM for DICOM, its own NRRD reader): a DICOM series from the files in the
 * order given, or one NRRD/NIfTI file. Values come back as float64, voxel order i fastest.
 */
export function sitkRead(paths: string[]): SitkImage {
  const script = `
import base64, json, sys
import numpy as np, SimpleITK as sitk
files = sys.argv[1:]
if len(files) == 1:
    img = sitk.ReadImage(files[0])
else:
    r = sitk.ImageSeriesReader(); r.SetFileNames(files); img = r.Execute()
a = sitk.GetArrayFromImage(img).astype(np.float64)
print(json.dumps({'dims': list(img.GetSize()), 'origin': list(img.GetOrigin()), 'spacing': list(img.GetSpacing()),
                  'direction': list(img.GetDirection()), 'data': base64.b64encode(a.tobytes()).decode()}))`;
  const out = python<Omit<SitkImage, 'data'> & { data: string }>(script, paths);
  const bytes = fromBase64(out.data);
  return { ...out, data: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8) };
}

export interface Validation {
  errors: string[];
  warnings: string[];
  output: string;
}

/** dciodvfy (dicom3tools): errors and warnings of a DICOM file against its IOD (it reports on stderr). */
export function dciodvfy(path: string): Validation {
  const output = execFileSync('sh', ['-c', 'dciodvfy "$1" 2>&1; true', 'sh', path], { encoding: 'utf8' });
  const lines = output.split('\n');
  return {
    errors: lines.filter((l) => l.startsWith('Error')),
    warnings: lines.filter((l) => l.startsWith('Warning')),
    output,
  };
}
