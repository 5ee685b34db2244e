import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readTar, writeTar } from './tar.js';

const dir = mkdtempSync(join(tmpdir(), 'nnsam-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tar', () => {
  const entries = [
    { name: 'model.json', data: Buffer.from('{"a":1}') },
    { name: 'network.onnx', data: Buffer.alloc(1300, 7) },
    { name: 'empty.txt', data: Buffer.alloc(0) },
  ];

  it('round-trips and is read by GNU tar', () => {
    const tar = writeTar(entries);
    expect(readTar(tar).map((e) => [e.name, Buffer.from(e.data).toString('hex')])).toEqual(
      entries.map((e) => [e.name, e.data.toString('hex')]),
    );
    writeFileSync(join(dir, 'a.tar'), tar);
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
    expect(readFileSync(join(dir, 'network.onnx'))).toEqual(entries[1]!.data);
  });

  it('reads archives written by GNU tar', () => {
    writeFileSync(join(dir, 'x.bin'), 'hello');
    execFileSync('tar', ['--format=ustar', '-cf', join(dir, 'b.tar'), '-C', dir, 'x.bin']);
    const [e] = readTar(readFileSync(join(dir, 'b.tar')));
    expect(e!.name).toBe('x.bin');
    expect(Buffer.from(e!.data).toString()).toBe('hello');
  });

  it('refuses truncated archives, path traversal and links', () => {
    const tar = writeTar(entries);
    expect(() => readTar(tar.subarray(0, 1000))).toThrow(/truncated/);
    expect(() => readTar(tar.subarray(0, 2048))).toThrow(/truncated|end-of-archive/);
    const evil = Buffer.from(tar);
    evil.write('../../etc/passwd\0', 0, 'utf8');
    // fix the checksum so only the name is wrong
    evil.write('        ', 148, 'ascii');
    let sum = 0;
    for (let n = 0; n < 512; n++) sum += evil[n]!;
    evil.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
    expect(() => readTar(evil)).toThrow(/not a plain file name/);
    const corrupt = Buffer.from(tar);
    corrupt[10] = 0x41;
    expect(() => readTar(corrupt)).toThrow(/checksum/);
  });
});
