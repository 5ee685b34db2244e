/**
 * Reads a BINARY DICOM SEG in Node (dcmjs), independently of OHIF: for each frame, the SOP Instance UID
 * of its source image, its segment number and how many pixels it sets. Tests compare what the viewer
 * shows against this.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Dcmjs {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Record<string, unknown> } };
    DicomMetaDictionary: { naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

export interface SegFrame {
  sourceSopInstanceUID: string;
  segmentNumber: number;
  foreground: number;
}

export interface BinarySeg {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  rows: number;
  columns: number;
  segmentLabels: string[];
  frames: SegFrame[];
}

type Item = Record<string, unknown>;
const first = (v: unknown): Item => (Array.isArray(v) ? (v[0] as Item) : (v as Item));

export function readBinarySeg(path: string): BinarySeg {
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(buffer).dict);
  if (ds.SegmentationType !== 'BINARY' || ds.BitsAllocated !== 1)
    throw new Error(`${path} is not a BINARY SEG`);
  const rows = ds.Rows as number;
  const columns = ds.Columns as number;
  const pixelData = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]!);
  const perFrame = ds.PerFrameFunctionalGroupsSequence as Item[];
  const frames = perFrame.map((fg, f) => {
    const source = first(first(fg.DerivationImageSequence).SourceImageSequence);
    const segmentNumber = first(fg.SegmentIdentificationSequence).ReferencedSegmentNumber as number;
    let foreground = 0;
    const start = f * rows * columns;
    for (let n = start; n < start + rows * columns; n++)
      if (pixelData[n >> 3]! & (1 << (n & 7))) foreground++;
    return { sourceSopInstanceUID: source.ReferencedSOPInstanceUID as string, segmentNumber, foreground };
  });
  return {
    studyInstanceUID: ds.StudyInstanceUID as string,
    seriesInstanceUID: ds.SeriesInstanceUID as string,
    rows,
    columns,
    segmentLabels: (ds.SegmentSequence as Item[]).map((s) => s.SegmentLabel as string),
    frames,
  };
}
