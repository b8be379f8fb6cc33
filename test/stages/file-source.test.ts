import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createFileSource, openDump } from '../../src/stages/file-source.js';
import { formatManifest, type DumpManifest, type ManifestKind } from '../../src/format/manifest.js';
import { parseSelection } from '../../src/format/selection.js';
import { isDspipeError } from '../../src/errors.js';
import { collect, recordEvents, tick } from './restore-stream-helpers.js';

let dir: string;
const data = Buffer.from('x'.repeat(200_000));
const entry = (over: Partial<ManifestKind> = {}): ManifestKind => ({
  namespace: '', kind: 'K', file: 'k.ndjson', entities: 1, rawBytes: data.length, bytes: data.length,
  sha256: createHash('sha256').update(data).digest('hex'), complete: true, ...over,
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dspipe-file-source-'));
  await writeFile(join(dir, 'k.ndjson'), data);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('fileSource', () => {
  test('reads the file in chunks, counts and checks it', async () => {
    const s = createFileSource(dir, entry(), { chunkSize: 16 * 1024 });
    const events = recordEvents(s);
    const sink = collect<Buffer>(false);
    await pipeline(s, sink);
    await tick();
    assert.deepEqual(Buffer.concat(sink.items), data);
    assert.ok(sink.items.length >= 12);
    assert.equal(s.bytes, data.length);
    assert.deepEqual([events.get('end'), events.get('close'), events.get('error')], [1, 1, undefined]);
  });

  for (const [what, over, pattern] of [
    ['a different size', { bytes: data.length + 1 }, /bytes/],
    ['a different hash', { sha256: '0'.repeat(64) }, /sha256/],
    ['a missing file', { file: 'gone.ndjson' }, /missing/],
  ] as const) {
    test(`${what} fails with DSPIPE_CORRUPT_DUMP naming the file`, async () => {
      const s = createFileSource(dir, entry(over));
      const events = recordEvents(s);
      const done = finished(s);
      await assert.rejects(pipeline(s, collect(false)), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && pattern.test(err.message) && err.file!.startsWith(dir));
      await assert.rejects(done);
      await tick();
      assert.deepEqual([events.get('error'), events.get('close'), events.get('end')], [1, 1, undefined]);
    });
  }

  test('verify: false reads without checking', async () => {
    const sink = collect<Buffer>(false);
    await pipeline(createFileSource(dir, entry({ sha256: '0'.repeat(64), bytes: 1 }), { verify: false }), sink);
    assert.equal(Buffer.concat(sink.items).length, data.length);
  });

  test('destroy mid-stream closes the file', async () => {
    const s = createFileSource(dir, entry(), { chunkSize: 1024 });
    const events = recordEvents(s);
    s.once('data', () => s.destroy());
    await assert.rejects(finished(s), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.deepEqual([events.get('close'), events.get('error')], [1, undefined]);
  });
});

describe('openDump', () => {
  const manifest = (kinds: ManifestKind[], complete = true): DumpManifest => ({
    format: 'dspipe-dump', formatVersion: 1, dspipeVersion: '0', source: { projectId: 'p', databaseId: '' }, readTime: null,
    startedAt: '2026-01-01T00:00:00Z', finishedAt: complete ? '2026-01-01T00:00:01Z' : null, complete, compression: 'none', kinds,
  });

  test('selects kinds by namespace and kind', async () => {
    await writeFile(join(dir, 'manifest.json'), formatManifest(manifest([entry(), entry({ kind: 'L', file: 'l.ndjson' }), entry({ namespace: 'n', kind: 'K', file: 'n/k.ndjson' })])));
    const all = await openDump(dir);
    assert.equal(all.kinds.length, 3);
    const some = await openDump(dir, parseSelection({ kinds: 'K', namespaces: '(default)' }));
    assert.deepEqual(some.kinds.map((k) => [k.namespace, k.kind]), [['', 'K']]);
  });

  test('refuses an unfinished dump and a kind not complete', async () => {
    await writeFile(join(dir, 'manifest.json'), formatManifest(manifest([entry()], false)));
    await assert.rejects(openDump(dir), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'));
    await writeFile(join(dir, 'manifest.json'), formatManifest(manifest([entry({ complete: false })])));
    await assert.rejects(openDump(dir), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && err.kind === 'K');
  });

  test('a folder without manifest is corrupt; no folder is not found; Readable types stay bytes', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'dspipe-empty-'));
    await assert.rejects(openDump(empty), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'));
    await assert.rejects(openDump(join(empty, 'x')), (err: unknown) => isDspipeError(err, 'DSPIPE_NOT_FOUND'));
    await rm(empty, { recursive: true });
    assert.equal(createFileSource(dir, entry()) instanceof Readable, true);
  });
});
