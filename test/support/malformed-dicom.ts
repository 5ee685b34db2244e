/**
 * A corpus of malformed DICOM, generated from the phantom study (server/src/demo/phantom.ts) with dcmjs:
 * image series with one defect each, a 10,000-frame enhanced MR object, and broken SEGs of a good series.
 * Nothing here is shipped: every file is made by the test that needs it.
 */
import { createRequire } from 'node:module';

import { parsePart10, type Dataset } from '../../server/src/dicom/part10.js';
import { loadSeriesFromBuffers } from '../../server/src/dicom/series.js';
import { writeSeg } from '../../server/src/dicom/seg-write.js';
import { makePhantom, uidFor, type Phantom } from '../../server/src/demo/phantom.js';

interface Dcmjs {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
    DicomMetaDictionary: { denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown> };
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as Dcmjs;

/** One file of a case: its name in the case folder and its bytes. */
export interface CorpusFile {
  name: string;
  bytes: Uint8Array;
}

export interface CorpusCase {
  id: string;
  /** What is wrong, in words (for the report). */
  defect: string;
  files: CorpusFile[];
  studyInstanceUID: string;
  seriesInstanceUID: string;
  /** Rows and columns of the images (for a labelmap on them). */
  rows: number;
  columns: number;
  /** A SOP Instance UID (+ frame) of an image of the series, for a one-slice labelmap. */
  labelSlice: { sopInstanceUID: string; frameNumber?: number };
  /** What a clear message must mention (a regular expression over the CLI or API message). */
  expect: RegExp;
}

/** Writes a naturalized data set with the given file meta information (dcmjs as the encoder only). */
export function writeDataset(meta: Dataset, dataset: Dataset): Uint8Array {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}

/** Parses a file, lets `edit` change its data set (and meta), writes it again. */
export function editDicom(bytes: Uint8Array, edit: (ds: Dataset, meta: Dataset) => void): Uint8Array {
  const part = parsePart10(bytes);
  const ds = part.dataset;
  if (ds.PixelData !== undefined) ds._vrMap = { ...((ds._vrMap as object) ?? {}), PixelData: 'OW' };
  edit(ds, part.meta);
  return writeDataset(part.meta, ds);
}

const SIZE = 64;
const SLICES = 6;

function phantomFiles(p: Phantom): CorpusFile[] {
  return p.instances.map((i) => ({ name: `slice-${String(i.slice).padStart(3, '0')}.dcm`, bytes: i.bytes }));
}

function base(p: Phantom, id: string, defect: string, files: CorpusFile[], expect: RegExp): CorpusCase {
  return {
    id,
    defect,
    files,
    studyInstanceUID: p.studyInstanceUID,
    seriesInstanceUID: p.seriesInstanceUID,
    rows: SIZE,
    columns: SIZE,
    labelSlice: { sopInstanceUID: p.instances[0]!.sopInstanceUID },
    expect,
  };
}

/** Image series with one defect each. Seeds 900.. keep their UIDs apart from other tests' phantoms. */
export function malformedSeries(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const next = (() => {
    let seed = 900;
    return () => makePhantom({ seed: seed++, size: SIZE, slices: SLICES });
  })();
  const withEdit = (p: Phantom, slices: number[], edit: (ds: Dataset, meta: Dataset) => void) =>
    phantomFiles(p).map((f, k) => (slices.includes(k) ? { ...f, bytes: editDicom(f.bytes, edit) } : f));

  let p = next();
  const truncated = phantomFiles(p);
  truncated[3] = {
    ...truncated[3]!,
    bytes: truncated[3]!.bytes.subarray(0, truncated[3]!.bytes.length - 3000),
  };
  cases.push(
    base(p, 'truncated', 'a file cut 3000 bytes short (inside its pixel data)', truncated, /truncated/),
  );

  p = next();
  const noMarker = phantomFiles(p).map((f) => {
    const bytes = f.bytes.slice();
    bytes.set([0x58, 0x58, 0x58, 0x58], 128); // "XXXX" where "DICM" belongs
    return { ...f, bytes };
  });
  cases.push(
    base(p, 'wrong-preamble', 'no "DICM" marker after the preamble', noMarker, /not a DICOM|no DICOM images/),
  );

  p = next();
  cases.push(
    base(
      p,
      'no-pixel-data',
      'one image without PixelData',
      withEdit(p, [2], (ds) => {
        delete ds.PixelData;
      }),
      /no pixel data/,
    ),
  );

  p = next();
  cases.push(
    base(
      p,
      'short-pixel-data',
      'PixelData shorter than rows x columns',
      withEdit(p, [2], (ds) => {
        const data = ds.PixelData as ArrayBuffer[];
        ds.PixelData = [data[0]!.slice(0, (SIZE * SIZE * 2) / 2)];
      }),
      /pixel data/i,
    ),
  );

  p = next();
  cases.push(
    base(
      p,
      'mixed-orientation',
      'one image with another ImageOrientationPatient',
      withEdit(p, [4], (ds) => {
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1];
      }),
      /ImageOrientationPatient/,
    ),
  );

  p = next();
  cases.push(
    base(
      p,
      'nan-spacing',
      'PixelSpacing NaN\\NaN',
      withEdit(p, [0, 1, 2, 3, 4, 5], (ds) => {
        ds.PixelSpacing = ['NaN', 'NaN'];
      }),
      /PixelSpacing/,
    ),
  );

  p = next();
  cases.push(
    base(
      p,
      'huge-spacing',
      'PixelSpacing 1e308 mm',
      withEdit(p, [0, 1, 2, 3, 4, 5], (ds) => {
        ds.PixelSpacing = ['1e308', '1e308'];
      }),
      /PixelSpacing/,
    ),
  );

  p = next();
  const dupUid = p.instances[1]!.sopInstanceUID;
  cases.push(
    base(
      p,
      'duplicate-sop-uid',
      'two images (different positions) with one SOP Instance UID',
      withEdit(p, [2], (ds, meta) => {
        ds.SOPInstanceUID = dupUid;
        meta.MediaStorageSOPInstanceUID = dupUid;
      }),
      /SOP Instance UID/,
    ),
  );

  p = next();
  cases.push(
    base(
      p,
      'empty-uids',
      'empty Study, Series and Frame of Reference UIDs',
      withEdit(p, [0, 1, 2, 3, 4, 5], (ds) => {
        ds.StudyInstanceUID = '';
        ds.SeriesInstanceUID = '';
        ds.FrameOfReferenceUID = '';
      }),
      /StudyInstanceUID|SeriesInstanceUID/,
    ),
  );
  return cases;
}

/**
 * One enhanced MR object with `frames` frames of 8x8 pixels, each with its own position (a valid object, but
 * an extreme one: 10,000 per-frame functional group items).
 */
export function manyFrameObject(frames = 10_000): CorpusCase {
  const seed = 'many-frames';
  const rows = 8;
  const columns = 8;
  const pixels = new Uint16Array(rows * columns * frames);
  for (let n = 0; n < pixels.length; n++) pixels[n] = (n * 7) % 1000;
  const studyInstanceUID = uidFor(seed, 'study');
  const seriesInstanceUID = uidFor(seed, 'series');
  const sopInstanceUID = uidFor(seed, 'instance');
  const sopClass = '1.2.840.10008.5.1.4.1.1.4.1'; // Enhanced MR Image Storage
  const dataset: Dataset = {
    SOPClassUID: sopClass,
    SOPInstanceUID: sopInstanceUID,
    PatientName: 'NNSAM^CORPUS',
    PatientID: 'NNSAM-CORPUS',
    StudyInstanceUID: studyInstanceUID,
    SeriesInstanceUID: seriesInstanceUID,
    FrameOfReferenceUID: uidFor(seed, 'frame-of-reference'),
    Modality: 'MR',
    StudyDate: '20240101',
    SeriesNumber: 1,
    InstanceNumber: 1,
    ImageType: ['DERIVED', 'PRIMARY', 'OTHER', 'NONE'],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 0,
    NumberOfFrames: frames,
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: [1, 0, 0, 0, 1, 0] }],
        PixelMeasuresSequence: [{ PixelSpacing: [1, 1], SliceThickness: 1 }],
      },
    ],
    PerFrameFunctionalGroupsSequence: Array.from({ length: frames }, (_, f) => ({
      PlanePositionSequence: [{ ImagePositionPatient: [0, 0, f * 0.5] }],
    })),
    PixelData: pixels.buffer,
    _vrMap: { PixelData: 'OW' },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.1',
  };
  return {
    id: 'many-frames',
    defect: `one enhanced MR object with ${frames} frames`,
    files: [{ name: 'multiframe.dcm', bytes: writeDataset(meta, dataset) }],
    studyInstanceUID,
    seriesInstanceUID,
    rows,
    columns,
    labelSlice: { sopInstanceUID, frameNumber: 1 },
    expect: /./,
  };
}

export interface SegCase {
  id: string;
  defect: string;
  bytes: Uint8Array;
  seriesInstanceUID: string;
  expect: RegExp;
}

/** A good phantom series and SEGs of it with one defect each. */
export async function malformedSegs(): Promise<{ phantom: Phantom; segs: SegCase[] }> {
  const phantom = makePhantom({ seed: 950, size: SIZE, slices: SLICES });
  const series = await loadSeriesFromBuffers(
    phantom.instances.map((i) => ({ bytes: i.bytes, where: `slice ${i.slice}` })),
    'phantom 950',
  );
  const good = writeSeg(
    phantom.labels,
    series,
    { 1: 'Right ventricle', 2: 'Myocardium', 3: 'Left ventricle' },
    { name: 'corpus', version: '1' },
  );
  const edit = (id: string, defect: string, expect: RegExp, change: (ds: Dataset) => void): SegCase => {
    const bytes = editDicom(good.bytes, (ds) => {
      ds._vrMap = { ...((ds._vrMap as object) ?? {}), PixelData: 'OB' };
      change(ds);
      ds.SeriesInstanceUID = uidFor(`corpus-seg-${id}`, 'series');
      ds.SOPInstanceUID = uidFor(`corpus-seg-${id}`, 'instance');
    });
    const part = parsePart10(bytes);
    return { id, defect, bytes, seriesInstanceUID: String(part.dataset.SeriesInstanceUID), expect };
  };
  type Item = Record<string, Dataset[]>;
  const frames = (ds: Dataset) => ds.PerFrameFunctionalGroupsSequence as Item[];
  const segs: SegCase[] = [
    edit(
      'missing-instances',
      'every frame references an instance that is not in the series (and lies off the grid)',
      /none of its \d+ frame\(s\) matches an image/,
      (ds) => {
        for (const [n, f] of frames(ds).entries()) {
          const src = (f.DerivationImageSequence![0] as Item).SourceImageSequence![0]!;
          src.ReferencedSOPInstanceUID = uidFor('corpus-missing', `instance/${n}`);
          (f.PlanePositionSequence![0] as Dataset).ImagePositionPatient = [0, 0, 9999 + n];
        }
      },
    ),
    edit(
      'frame-count',
      'NumberOfFrames disagrees with the per-frame functional groups',
      /frames but \d+ per-frame/,
      (ds) => {
        ds.NumberOfFrames = Number(ds.NumberOfFrames) + 5;
      },
    ),
    edit('segment-out-of-range', 'a frame names segment 7 of a SEG that describes 3', /segment 7/, (ds) => {
      ((frames(ds)[0]!.SegmentIdentificationSequence as Dataset[])[0] as Dataset).ReferencedSegmentNumber = 7;
    }),
    edit('segment-zero', 'a frame names segment 0', /segment 0/, (ds) => {
      ((frames(ds)[0]!.SegmentIdentificationSequence as Dataset[])[0] as Dataset).ReferencedSegmentNumber = 0;
    }),
  ];
  return { phantom, segs };
}
