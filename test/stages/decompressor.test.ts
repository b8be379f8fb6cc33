import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { compress } from 'zstd-napi';
import { createDecompressor } from '../../src/stages/decompressor.js';
import { isDspipeError } from '../../src/errors.js';
import { chunked, collect, recordEvents, tick } from './restore-stream-helpers.js';

const text = Buffer.from(Array.from({ length: 200 }, (_, i) => `{"line":${i},"s":"héllo wörld 東京 🎉"}\n`).join(''));
const zst = compress(text);

async function run(input: Readable): Promise<Buffer> {
  const sink = collect<Buffer>(false);
  await pipeline(input, createDecompressor({ file: 'f.zst' }), sink);
  return Buffer.concat(sink.items);
}

describe('decompressor', () => {
  test('zstd is detected by its magic bytes, plain NDJSON passes through', async () => {
    const d = createDecompressor();
    const sink = collect<Buffer>(false);
    await pipeline(Readable.from([zst]), d, sink);
    assert.equal(d.compression, 'zstd');
    assert.deepEqual(Buffer.concat(sink.items), text);
    assert.equal(d.bytesIn, zst.length);
    assert.equal(d.bytesOut, text.length);
    const p = createDecompressor();
    const sink2 = collect<Buffer>(false);
    await pipeline(Readable.from([text]), p, sink2);
    assert.equal(p.compression, 'none');
    assert.deepEqual(Buffer.concat(sink2.items), text);
  });

  test('input cut at every chunk boundary (zstd and plain)', async () => {
    for (const data of [zst, text.subarray(0, 300)]) {
      const expected = data === zst ? text : data;
      for (let cut = 0; cut <= data.length; cut++) {
        assert.deepEqual(await run(chunked(data, [cut])), expected, `cut at ${cut}`);
      }
      // and one byte at a time
      assert.deepEqual(await run(chunked(data, Array.from({ length: data.length }, (_, i) => i))), expected);
    }
  });

  test('concatenated frames and empty or tiny input', async () => {
    assert.deepEqual(await run(Readable.from([Buffer.concat([zst, compress(Buffer.from('more\n'))])])), Buffer.concat([text, Buffer.from('more\n')]));
    assert.deepEqual(await run(Readable.from([], { objectMode: false })), Buffer.alloc(0));
    assert.deepEqual(await run(Readable.from([Buffer.from('{}')])), Buffer.from('{}'));
  });

  test('events on success: end, finish and close once, no error', async () => {
    const d = createDecompressor();
    const events = recordEvents(d);
    await pipeline(Readable.from([zst]), d, collect(false));
    await tick();
    assert.deepEqual([events.get('end'), events.get('finish'), events.get('close'), events.get('error')], [1, 1, 1, undefined]);
  });

  for (const [what, data] of [
    ['a truncated frame', zst.subarray(0, zst.length - 5)],
    ['damaged data', Buffer.concat([zst.subarray(0, 20), Buffer.alloc(50, 0xff), zst.subarray(70)])],
  ] as const) {
    test(`${what}: pipeline and finished reject with DSPIPE_CORRUPT_DUMP naming the file; error and close once`, async () => {
      const d = createDecompressor({ file: 'kind.ndjson.zst' });
      const events = recordEvents(d);
      const done = finished(d);
      await assert.rejects(pipeline(Readable.from([data]), d, collect(false)), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && err.file === 'kind.ndjson.zst');
      await assert.rejects(done);
      await tick();
      assert.deepEqual([events.get('error'), events.get('close'), events.get('end')], [1, 1, undefined]);
    });
  }

  test('destroy mid-stream closes without error and rejects the pipeline', async () => {
    const d = createDecompressor();
    const events = recordEvents(d);
    const source = new Readable({ read() {} });
    const p = pipeline(source, d, collect(false));
    source.push(zst.subarray(0, 100));
    await tick();
    d.destroy();
    await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.equal(events.get('close'), 1);
    assert.equal(events.get('error'), undefined);
  });
});
