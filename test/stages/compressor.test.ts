import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline, finished } from 'node:stream/promises';
import { createCompressor } from '../../src/stages/compressor.js';
import { decompress } from '../commands/dump-helpers.js';
import { cut, recordEvents } from './compliance.js';
import { runQueryResponseToLines } from '../../src/format/wire/run-query-lines.js';
import { wirePage } from '../fixtures/wire-pages.js';

const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `{"key":${i},"v":"${'abc'.repeat(i % 50)}"}\n`).join(''));

async function compress(pieces: Buffer[], options: Parameters<typeof createCompressor>[0]) {
  const c = createCompressor(options);
  const out: Buffer[] = [];
  const events = recordEvents(c);
  await pipeline(Readable.from(pieces), c, new Writable({ write: (b: Buffer, _e, cb) => (out.push(b), cb()) }));
  return { c, bytes: Buffer.concat(out), events };
}

test('zstd round-trips input cut at any boundary; counts in and out', async () => {
  let first: Buffer | undefined;
  for (const seed of [1, 2, 3]) {
    const { c, bytes, events } = await compress(cut(text, seed, seed === 1 ? 7 : 5000), {});
    assert.deepEqual(await decompress(bytes), text);
    assert.equal(c.bytesIn, text.length);
    assert.equal(c.bytesOut, bytes.length);
    assert.ok(bytes.length < text.length / 5, `compressed ${bytes.length} of ${text.length}`);
    assert.deepEqual(bytes.subarray(0, 4), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd magic');
    assert.deepEqual(Object.fromEntries(events), { finish: 1, end: 1, close: 1 });
    // Determinism: the same bytes however the input was cut.
    first ??= bytes;
    assert.deepEqual(bytes, first);
  }
});

test('levels change the output; none passes bytes through', async () => {
  const fast = await compress([text], { level: 1 });
  const small = await compress([text], { level: 19 });
  assert.notDeepEqual(fast.bytes, small.bytes);
  assert.deepEqual(await decompress(small.bytes), text);
  const plain = await compress(cut(text, 9), { compression: 'none' });
  assert.deepEqual(plain.bytes, text);
  assert.equal(plain.c.bytesIn, text.length);
  assert.equal(plain.c.bytesOut, text.length);
});

test('destroy mid-stream closes once; pipeline with a failing source rejects', async () => {
  const c = createCompressor();
  const events = recordEvents(c);
  c.write(text.subarray(0, 1000));
  const done = finished(c);
  c.destroy();
  await assert.rejects(done);
  assert.equal(events.get('close'), 1);
  const failing = new Readable({ read() { this.destroy(new Error('source broke')); } });
  await assert.rejects(pipeline(failing, createCompressor(), new Writable({ write: (_b, _e, cb) => cb() })), /source broke/);
});

test('pages of lines from the wire transcoder are reused only after zstd took them in: the output is every page as it was', async () => {
  const expected: Buffer[] = [];
  // each page is transcoded when the compressor asks for it, so into memory given back by the one before
  async function* pages() {
    for (let i = 0; i < 40; i++) {
      const lines = runQueryResponseToLines(wirePage(i * 300, 300)).lines;
      expected.push(Buffer.from(lines));
      yield lines;
    }
  }
  const buffers = new Set<ArrayBufferLike>();
  const c = createCompressor({});
  const out: Buffer[] = [];
  const seen = new Transform({
    transform(b: Buffer, _e, cb) {
      buffers.add(b.buffer);
      cb(null, b);
    },
  });
  await pipeline(Readable.from(pages(), { objectMode: false, highWaterMark: 1 }), seen, c, new Writable({ write: (b: Buffer, _e, cb) => (out.push(b), cb()) }));
  assert.deepEqual(await decompress(Buffer.concat(out)), Buffer.concat(expected));
  assert.ok(buffers.size < 40, `pages reused memory (${buffers.size} allocations for 40 pages)`);
});
