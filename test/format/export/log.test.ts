import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, maskCrc, unmaskCrc } from '../../../src/format/export/crc32c.js';
import { BLOCK_SIZE, HEADER_SIZE, LogReader, LogWriter } from '../../../src/format/export/log.js';
import { isDspipeError } from '../../../src/errors.js';

test('crc32c matches the standard check value and masking round-trips', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
  assert.equal(crc32c(Buffer.from('56789'), crc32c(Buffer.from('1234'))), 0xe3069283, 'continues a CRC');
  for (const c of [0, 1, 0xffffffff, 0xe3069283, 0x12345678]) assert.equal(unmaskCrc(maskCrc(c)), c);
  assert.notEqual(maskCrc(0xe3069283), 0xe3069283);
});

function frameAll(records: Buffer[]): Buffer {
  const w = new LogWriter();
  const out = Buffer.concat(records.map((r) => w.frame(r)));
  assert.equal(w.bytes, out.length);
  return out;
}

function readAll(bytes: Buffer, chunk: number, file = 'output-0'): Buffer[] {
  const r = new LogReader(file);
  const out: Buffer[] = [];
  const take = (rec: Buffer) => out.push(Buffer.from(rec));
  for (let i = 0; i < bytes.length; i += chunk) r.push(bytes.subarray(i, i + chunk), take);
  r.end(take);
  return out;
}

const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255));

test('records of every size round-trip through framing, read in chunks of any size', () => {
  const sizes = [0, 1, 100, BLOCK_SIZE - HEADER_SIZE, BLOCK_SIZE - HEADER_SIZE - 1, BLOCK_SIZE, 3 * BLOCK_SIZE + 17, 0, 5];
  const records = sizes.map((n, i) => pattern(n, i));
  const bytes = frameAll(records);
  for (const chunk of [1, 7, 1000, BLOCK_SIZE, 1 << 20]) assert.deepEqual(readAll(bytes, chunk), records, `chunk ${chunk}`);
});

test('a block with exactly 7 bytes left gets an empty FIRST there; fewer get a zero trailer', () => {
  // First record leaves exactly 7 bytes in block 0.
  const a = pattern(BLOCK_SIZE - 2 * HEADER_SIZE, 1);
  const b = pattern(20, 2);
  const bytes = frameAll([a, b]);
  const at = BLOCK_SIZE - HEADER_SIZE;
  assert.equal(bytes.readUInt16LE(at + 4), 0, 'zero-length fragment');
  assert.equal(bytes[at + 6], 2, 'FIRST');
  assert.equal(bytes[BLOCK_SIZE + 6], 4, 'LAST in the next block');
  assert.deepEqual(readAll(bytes, 999), [a, b]);
  // Leaves 3 bytes: those are zero, the next record starts the next block.
  const c = pattern(BLOCK_SIZE - HEADER_SIZE - 3, 3);
  const bytes2 = frameAll([c, b]);
  assert.deepEqual([...bytes2.subarray(BLOCK_SIZE - 3, BLOCK_SIZE)], [0, 0, 0]);
  assert.equal(bytes2[BLOCK_SIZE + 6], 1, 'FULL at the start of block 1');
  assert.deepEqual(readAll(bytes2, 4096), [c, b]);
});

function corruptError(bytes: Buffer): { message: string; file?: string } {
  try {
    readAll(bytes, 4096, 'exp/output-3');
  } catch (err) {
    assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
    return err;
  }
  assert.fail('the reader accepted a corrupt file');
}

test('a flipped byte anywhere in a record is a checksum error naming the file and offset', () => {
  const bytes = frameAll([pattern(50_000, 1), pattern(10, 2)]);
  for (const at of [HEADER_SIZE + 3, BLOCK_SIZE + HEADER_SIZE + 100, bytes.length - 1]) {
    const bad = Buffer.from(bytes);
    bad[at]! ^= 0x10;
    const err = corruptError(bad);
    assert.equal(err.file, 'exp/output-3');
    assert.match(err.message, /checksum mismatch .* at byte \d+/);
  }
  const badCrc = Buffer.from(bytes);
  badCrc[0]! ^= 1;
  assert.match(corruptError(badCrc).message, /checksum mismatch \(CRC-32C\) at byte 0$/);
});

test('truncation, garbage and bad fragment order are refused', () => {
  const bytes = frameAll([pattern(50_000, 1), pattern(10, 2)]);
  assert.match(corruptError(bytes.subarray(0, bytes.length - 3)).message, /truncated/);
  assert.match(corruptError(bytes.subarray(0, BLOCK_SIZE + 3)).message, /truncated/);
  assert.match(corruptError(bytes.subarray(0, BLOCK_SIZE)).message, /FIRST without LAST/);
  assert.match(corruptError(Buffer.concat([bytes, Buffer.from('garbage!')])).message, /unknown record type|runs past|truncated/);
  // Trailing zeros are padding, and fine.
  assert.equal(readAll(Buffer.concat([bytes, Buffer.alloc(5)]), 100).length, 2);
  // A LAST with no FIRST before it.
  const lastOnly = Buffer.from(frameAll([pattern(10, 1)]));
  lastOnly[6] = 4;
  lastOnly.writeUInt32LE(maskCrc(crc32c(lastOnly.subarray(HEADER_SIZE), crc32c(Buffer.from([4])))), 0);
  assert.match(corruptError(lastOnly).message, /LAST record without a FIRST at byte 0/);
  // A header claiming more bytes than the block has.
  const long = Buffer.from(frameAll([pattern(10, 1)]));
  long.writeUInt16LE(40_000, 4);
  assert.match(corruptError(long).message, /runs past/);
});
