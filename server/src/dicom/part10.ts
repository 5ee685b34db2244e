/**
 * DICOM Part 10 files in and out (dcmjs does the element coding). Before dcmjs sees a file we check that it
 * is Part 10 at all and walk its element structure once, because dcmjs silently accepts truncated files:
 * a file cut inside its pixel data must be refused with the element and byte offset, not half-read.
 */
import dcmjs from 'dcmjs';

import { NnsamError } from '../util/errors.js';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;
// dcmjs logs every odd VR it meets (e.g. "xs" and "ox" in its own dictionary) and recoverable oddities;
// our own errors say what matters, so keep stderr for them.
dcmjs.log.setLevel('error');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

/** A naturalized dcmjs dataset: attributes by keyword, sequences as arrays of datasets. */
export type Dataset = Record<string, unknown>;

export interface Part10 {
  /** File meta information (group 0002), naturalized. */
  meta: Dataset;
  dataset: Dataset;
  transferSyntaxUID: string;
  /** Where the bytes came from, for messages (file path or URL). */
  where: string;
}

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

/** UID of this implementation (Part 10 meta), a constant 2.25 UUID-derived UID. */
export const IMPLEMENTATION_CLASS_UID = '2.25.143717402843611496352262839233420722617';
export const IMPLEMENTATION_VERSION_NAME = 'NNSAM_0_1';

/** True when the bytes carry the Part 10 "DICM" marker after the 128-byte preamble. */
export function isPart10(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

/** Parses a Part 10 file. Throws NnsamError('not_dicom' | 'truncated_dicom' | 'invalid_dicom'). */
export function parsePart10(bytes: Uint8Array, where = 'DICOM data'): Part10 {
  if (!isPart10(bytes)) {
    throw new NnsamError(
      'not_dicom',
      `${where} is not a DICOM Part 10 file (no "DICM" marker after the 128-byte preamble; ${bytes.length} bytes)`,
      { hint: 'Pass DICOM files (Part 10, as written by a PACS or a DICOM toolkit).' },
    );
  }
  const transferSyntaxUID = checkStructure(bytes, where);
  let dict: { meta: Record<string, unknown>; dict: Record<string, unknown> };
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    dict = DicomMessage.readFile(buffer) as typeof dict;
  } catch (e) {
    throw new NnsamError('invalid_dicom', `${where} cannot be parsed as DICOM: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const meta = DicomMetaDictionary.naturalizeDataset(dict.meta) as Dataset;
  const dataset = DicomMetaDictionary.naturalizeDataset(dict.dict) as Dataset;
  return { meta, dataset, transferSyntaxUID, where };
}

/**
 * Writes a naturalized dataset as a Part 10 file in Explicit VR Little Endian. `dataset._vrMap` may fix
 * VRs the dictionary leaves open (e.g. { PixelData: 'OB' }).
 */
export function writePart10(dataset: Dataset): Uint8Array {
  const sopClassUID = dataset.SOPClassUID;
  const sopInstanceUID = dataset.SOPInstanceUID;
  if (typeof sopClassUID !== 'string' || typeof sopInstanceUID !== 'string') {
    throw new Error('writePart10: the dataset needs SOPClassUID and SOPInstanceUID');
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUID,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: TS.explicitLE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write() as ArrayBuffer);
}

// --- structural walk ------------------------------------------------------------------------------

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

interface Cursor {
  view: DataView;
  end: number;
  where: string;
}

function tagText(group: number, element: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  return `(${hex(group)},${hex(element)})`;
}

function truncated(c: Cursor, what: string, at: number, needed: number): never {
  throw new NnsamError(
    'truncated_dicom',
    `${c.where} is truncated: ${what} at byte ${at} needs ${needed} bytes but the file ends at byte ${c.end}`,
    { hint: 'The file was cut short (interrupted copy or download). Copy or retrieve it again.' },
  );
}

/**
 * Walks every element of the file (meta group, then the data set in its transfer syntax) and checks
 * that each fits inside the file. Returns the transfer syntax UID. Deflated data sets are checked by
 * dcmjs only (their elements are inside a zlib stream).
 */
function checkStructure(bytes: Uint8Array, where: string): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c: Cursor = { view, end: bytes.byteLength, where };
  // File meta group: always explicit VR little endian, elements of group 0002 only.
  let offset = 132;
  let transferSyntax = '';
  while (offset + 4 <= c.end && view.getUint16(offset, true) === 0x0002) {
    const element = view.getUint16(offset + 2, true);
    const { length, header } = readHeader(c, offset, true, true, 0x0002, element);
    if (offset + header + length > c.end)
      truncated(c, `meta element ${tagText(2, element)}`, offset, header + length);
    if (element === 0x0010) {
      transferSyntax = new TextDecoder()
        .decode(bytes.subarray(offset + header, offset + header + length))
        .replace(/[\0 ]+$/, '');
    }
    offset += header + length;
  }
  if (!transferSyntax) {
    throw new NnsamError('invalid_dicom', `${where} has no Transfer Syntax UID in its file meta information`);
  }
  if (transferSyntax === TS.deflatedLE) return transferSyntax;
  const explicit = transferSyntax !== TS.implicitLE;
  const little = transferSyntax !== TS.explicitBE;
  walkDataset(c, offset, c.end, explicit, little, false);
  return transferSyntax;
}

function readHeader(
  c: Cursor,
  offset: number,
  explicit: boolean,
  little: boolean,
  group: number,
  element: number,
): { vr: string; length: number; header: number } {
  const v = c.view;
  if (group === 0xfffe || !explicit) {
    if (offset + 8 > c.end) truncated(c, `element ${tagText(group, element)} header`, offset, 8);
    return { vr: '', length: v.getUint32(offset + 4, little), header: 8 };
  }
  if (offset + 8 > c.end) truncated(c, `element ${tagText(group, element)} header`, offset, 8);
  const vr = String.fromCharCode(v.getUint8(offset + 4), v.getUint8(offset + 5));
  if (LONG_VRS.has(vr)) {
    if (offset + 12 > c.end) truncated(c, `element ${tagText(group, element)} header`, offset, 12);
    return { vr, length: v.getUint32(offset + 8, little), header: 12 };
  }
  return { vr, length: v.getUint16(offset + 6, little), header: 8 };
}

/**
 * Walks elements from `offset` to `end`. Inside an undefined-length item it stops after the item
 * delimiter and returns the offset after it.
 */
function walkDataset(
  c: Cursor,
  offset: number,
  end: number,
  explicit: boolean,
  little: boolean,
  inItem: boolean,
): number {
  const v = c.view;
  while (offset < end) {
    if (offset + 4 > c.end) truncated(c, 'an element tag', offset, 4);
    const group = v.getUint16(offset, little);
    const element = v.getUint16(offset + 2, little);
    if (group === 0xfffe && element === 0xe00d) {
      if (offset + 8 > c.end) truncated(c, 'an item delimiter', offset, 8);
      if (inItem) return offset + 8;
      offset += 8; // stray delimiter at top level: tolerated, as most toolkits do
      continue;
    }
    const { vr, length, header } = readHeader(c, offset, explicit, little, group, element);
    const body = offset + header;
    if (length === UNDEFINED) {
      if (group === 0x7fe0 && element === 0x0010) {
        offset = walkFragments(c, body, little);
      } else {
        // a sequence (SQ, or UN of undefined length whose content is implicit VR little endian)
        const nestedExplicit = explicit && vr !== 'UN';
        offset = walkSequence(c, body, nestedExplicit, vr === 'UN' ? true : little, group, element);
      }
      continue;
    }
    if (body + length > c.end) truncated(c, `element ${tagText(group, element)}`, offset, header + length);
    offset = body + length;
  }
  if (inItem) truncated(c, 'an item without its delimiter', offset, 8);
  return offset;
}

function walkSequence(
  c: Cursor,
  offset: number,
  explicit: boolean,
  little: boolean,
  group: number,
  element: number,
): number {
  const v = c.view;
  for (;;) {
    if (offset + 8 > c.end) truncated(c, `sequence ${tagText(group, element)}`, offset, 8);
    const g = v.getUint16(offset, little);
    const e = v.getUint16(offset + 2, little);
    const length = v.getUint32(offset + 4, little);
    if (g === 0xfffe && e === 0xe0dd) return offset + 8;
    if (g !== 0xfffe || e !== 0xe000) {
      throw new NnsamError(
        'invalid_dicom',
        `${c.where}: sequence ${tagText(group, element)} holds ${tagText(g, e)} at byte ${offset} where an item was expected`,
      );
    }
    if (length === UNDEFINED) {
      offset = walkDataset(c, offset + 8, c.end, explicit, little, true);
    } else {
      if (offset + 8 + length > c.end)
        truncated(c, `an item of ${tagText(group, element)}`, offset, 8 + length);
      offset += 8 + length;
    }
  }
}

function walkFragments(c: Cursor, offset: number, little: boolean): number {
  const v = c.view;
  for (;;) {
    if (offset + 8 > c.end) truncated(c, 'encapsulated pixel data', offset, 8);
    const g = v.getUint16(offset, little);
    const e = v.getUint16(offset + 2, little);
    const length = v.getUint32(offset + 4, little);
    if (g === 0xfffe && e === 0xe0dd) return offset + 8;
    if (g !== 0xfffe || e !== 0xe000) {
      throw new NnsamError(
        'invalid_dicom',
        `${c.where}: encapsulated pixel data is malformed at byte ${offset}`,
      );
    }
    if (offset + 8 + length > c.end) truncated(c, 'a pixel data fragment', offset, 8 + length);
    offset += 8 + length;
  }
}

// --- typed access to naturalized values -------------------------------------------------------------

/** The first value of a string attribute, trimmed; undefined when absent or empty. */
export function str(ds: Dataset | undefined, key: string): string | undefined {
  const v = ds?.[key];
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined || first === null) return undefined;
  if (typeof first === 'object') {
    const alphabetic = (first as { Alphabetic?: unknown }).Alphabetic; // person names
    return typeof alphabetic === 'string' && alphabetic.trim() ? alphabetic.trim() : undefined;
  }
  const s = String(first).trim();
  return s ? s : undefined;
}

/** Numeric values of an attribute (DS/IS strings are parsed); [] when absent. */
export function nums(ds: Dataset | undefined, key: string): number[] {
  const v = ds?.[key];
  if (v === undefined || v === null || v === '') return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === 'number' ? x : Number(String(x).trim())));
}

export function num(ds: Dataset | undefined, key: string): number | undefined {
  const n = nums(ds, key)[0];
  return n === undefined || Number.isNaN(n) ? undefined : n;
}

/** Items of a sequence attribute ([] when absent). */
export function seq(ds: Dataset | undefined, key: string): Dataset[] {
  const v = ds?.[key];
  if (!v) return [];
  return (Array.isArray(v) ? v : [v]) as Dataset[];
}

/** First item of a sequence, or undefined. */
export function item(ds: Dataset | undefined, key: string): Dataset | undefined {
  return seq(ds, key)[0];
}
