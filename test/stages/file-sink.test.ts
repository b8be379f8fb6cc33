import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFileSink } from '../../src/stages/file-sink.js';
import { isDspipeError } from '../../src/errors.js';
import { cut, recordEvents } from './compliance.js';
import { runQueryResponseToLines } from '../../src/format/wire/run-query-lines.js';
import { wirePage } from '../fixtures/wire-pages.js';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'dspipe-sink-'))));
after(() => rm(dir, { recursive: true, force: true }));

const data = Buffer.from('x'.repeat(50_000) + '\n' + 'y'.repeat(70_000));

test('writes through a temp file, renames into place, counts and hashes', async () => {
  const path = join(dir, 'deep', 'er', 'kind.ndjson.zst');
  const sink = createFileSink(path);
  const events = recordEvents(sink);
  await pipeline(Readable.from(cut(data, 5, 3000)), sink);
  assert.deepEqual(await readFile(path), data);
  assert.equal(sink.bytes, data.length);
  assert.equal(sink.sha256, createHash('sha256').update(data).digest('hex'));
  assert.deepEqual(Object.fromEntries(events), { finish: 1, close: 1 });
  assert.deepEqual(await readdir(join(dir, 'deep', 'er')), ['kind.ndjson.zst']);
});

test('the old file stays until the new one is complete', async () => {
  const path = join(dir, 'replace.ndjson');
  await writeFile(path, 'old');
  const sink = createFileSink(path);
  sink.write(data.subarray(0, 1000));
  await sleep(20);
  assert.equal(await readFile(path, 'utf8'), 'old');
  sink.end(data.subarray(1000));
  await new Promise((r) => sink.on('finish', r));
  assert.deepEqual(await readFile(path), data);
});

test('destroy mid-stream removes the temp file and leaves no target', async () => {
  const sub = join(dir, 'destroyed');
  const sink = createFileSink(join(sub, 'k.ndjson'));
  const events = recordEvents(sink);
  sink.write(data);
  await sleep(20);
  assert.equal((await readdir(sub)).length, 1, 'temp file exists while writing');
  sink.destroy();
  await new Promise((r) => sink.on('close', r));
  assert.deepEqual(await readdir(sub), []);
  assert.equal(events.get('close'), 1);
  assert.equal(events.get('finish'), undefined);
});

test('a failing source rejects the pipeline and cleans up', async () => {
  const sub = join(dir, 'failing');
  let n = 0;
  const source = new Readable({
    read() {
      if (n++ < 3) this.push(data.subarray(0, 10_000));
      else this.destroy(new Error('upstream failed'));
    },
  });
  const sink = createFileSink(join(sub, 'k.ndjson'));
  await assert.rejects(pipeline(source, sink), /upstream failed/);
  // pipeline() rejects as soon as the source fails; the sink removes its temp file in _destroy, by 'close'.
  if (!sink.closed) await new Promise((r) => sink.once('close', r));
  assert.deepEqual(await readdir(sub), []);
});

test('an unwritable folder is a DSPIPE_IO error naming the file', async (t) => {
  if (process.getuid?.() === 0) return t.skip('root can write anywhere');
  const locked = join(dir, 'locked');
  await rm(locked, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(locked));
  await chmod(locked, 0o500);
  await assert.rejects(pipeline(Readable.from([data]), createFileSink(join(locked, 'k.ndjson'))), (err) => isDspipeError(err, 'DSPIPE_IO') && err.file!.startsWith(locked));
});

test('a path under a file is a DSPIPE_IO error naming the file', async () => {
  const blocker = join(dir, 'blocker');
  await writeFile(blocker, 'a file, not a folder');
  await assert.rejects(pipeline(Readable.from([data]), createFileSink(join(blocker, 'k.ndjson'))), (err) => isDspipeError(err, 'DSPIPE_IO') && /blocker/.test(err.file!));
});

test('pages of lines from the wire transcoder are reused only once written (--compress none): the file is every page as it was', async () => {
  const expected: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  const path = join(dir, 'pages.ndjson');
  const sink = createFileSink(path);
  await new Promise((resolve) => sink.write(Buffer.alloc(0), resolve)); // the file is open
  // Written as fast as they are made, the next page transcoded while earlier writes are in flight. (Memory given
  // back too early is only reused two pages later, after a fast disk finished: this checks the output and the
  // reuse, not the timing.)
  for (let i = 0; i < 40; i++) {
    const lines = runQueryResponseToLines(wirePage(i * 300, 300)).lines;
    expected.push(Buffer.from(lines));
    buffers.add(lines.buffer);
    if (!sink.write(lines)) await once(sink, 'drain');
  }
  sink.end();
  await finished(sink);
  assert.deepEqual(await readFile(path), Buffer.concat(expected));
  assert.ok(buffers.size < 40, `pages reused memory (${buffers.size} allocations for 40 pages)`);
});
