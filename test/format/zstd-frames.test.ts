import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress } from 'zstd-napi';
import { ZstdFrameScanner, type FramePiece } from '../../src/format/zstd-frames.js';

const text = Buffer.from(Array.from({ length: 3000 }, (_, i) => `{"n":${i},"s":"${'xy'.repeat(i % 40)}"}\n`).join(''));
const big = compress(text); // several blocks, a content checksum
const tiny = compress(Buffer.alloc(0)); // one empty block
const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
const stream = Buffer.concat([big, skippable, tiny, big]);

/** The pieces of `bytes` fed in chunks cut at `cuts`, grouped back into frames. */
function frames(bytes: Buffer, cuts: number[]): { skip: boolean; bytes: Buffer }[] {
  const scanner = new ZstdFrameScanner();
  const out: { skip: boolean; bytes: Buffer }[] = [];
  let open: FramePiece[] = [];
  let at = 0;
  for (const end of [...cuts, bytes.length]) {
    for (const piece of scanner.scan(bytes.subarray(at, end))) {
      open.push(piece);
      if (piece.ends) {
        out.push({ skip: piece.skip, bytes: Buffer.concat(open.map((p) => p.bytes)) });
        assert.ok(open.every((p) => p.skip === piece.skip), 'one frame, one kind of piece');
        open = [];
      }
    }
    at = end;
  }
  assert.equal(open.length === 0 || open.every((p) => p.bytes.length === 0), true);
  assert.equal(scanner.inFrame, false);
  return out;
}

test('frames are found whole, however the input is cut', () => {
  const expected = [{ skip: false, bytes: big }, { skip: true, bytes: skippable }, { skip: false, bytes: tiny }, { skip: false, bytes: big }];
  assert.deepEqual(frames(stream, []), expected);
  for (let cut = 0; cut <= stream.length; cut += 7) assert.deepEqual(frames(stream, [cut]), expected, `cut at ${cut}`);
  const small = Buffer.concat([tiny, skippable, tiny]);
  assert.deepEqual(frames(small, Array.from({ length: small.length }, (_, i) => i)).map((f) => f.bytes), [tiny, skippable, tiny]);
});

test('a cut-off frame is still open at the end; bytes that are no frame are refused', () => {
  for (const n of [1, 3, 4, 10, big.length - 1]) {
    const scanner = new ZstdFrameScanner();
    scanner.scan(big.subarray(0, n));
    assert.equal(scanner.inFrame, true, `${n} bytes`);
  }
  assert.throws(() => new ZstdFrameScanner().scan(Buffer.from('{"key":1}\n')), /unknown frame magic/);
  const reserved = Buffer.from(big);
  reserved[4] = reserved[4]! | 0x08;
  assert.throws(() => new ZstdFrameScanner().scan(reserved), /reserved bit/);
});
