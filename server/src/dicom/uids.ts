/**
 * DICOM UIDs we mint. Every one is a "2.25." UID (ISO/IEC 9834-8: the decimal form of a 128-bit UUID), so no
 * organisation root is needed. New objects get random UUIDs; UIDs that must come out the same every time
 * for the same input (filled into de-identified files whose UIDs are empty) are derived from a SHA-256 of
 * a documented seed, with the UUID version set to 8 (custom) and the RFC 4122 variant.
 */
import { createHash, randomUUID } from 'node:crypto';

function uuidHexToUid(hex: string): string {
  return `2.25.${BigInt('0x' + hex).toString(10)}`;
}

/** A fresh random UID. */
export function newUid(): string {
  return uuidHexToUid(randomUUID().replace(/-/g, ''));
}

/** A UID derived deterministically from `seed` (same seed, same UID). */
export function derivedUid(seed: string): string {
  const bytes = createHash('sha256').update(seed).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return uuidHexToUid(bytes.toString('hex'));
}

/** True for a syntactically valid UID (digits and dots, no leading zeros, at most 64 characters). */
export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}
