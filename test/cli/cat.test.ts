/** `dspipe cat` as a child process: files and folders to NDJSON, broken pipes end cleanly. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { decompress } from 'zstd-napi';
import { namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { DEMO_NAMESPACES, sampleDataset } from '../../src/demo/dataset.js';
import { seedEntities } from '../../src/demo/seed.js';
import { dump } from '../../src/commands/dump.js';
import { cat } from '../../src/commands/cat.js';
import { collectOutput, dspipe, MAIN } from './restore-cli-helpers.js';

let t: TestBackend;
let root: string;
let manifest: { kinds: Array<{ file: string; entities: number }> };
before(async () => {
  t = await startTestBackend({ projectId: 'cli-cat' });
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-cat-'));
  await seedEntities(t.client, t.connection, sampleDataset({ projectId: 'cli-cat', users: 30, large: false }));
  const namespaces = namespacesToName(DEMO_NAMESPACES);
  await dump({ root, name: 'd', ...(namespaces && { namespaces }) }, { connection: { emulatorHost: t.emulatorHost, projectId: 'cli-cat' } });
  manifest = JSON.parse(await readFile(join(root, 'd', 'manifest.json'), 'utf8'));
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const fileOf = (i: number) => join(root, 'd', ...manifest.kinds[i]!.file.split('/'));

test('--help', async () => {
  const r = await dspipe(['cat', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: dspipe cat FILE\|DIR/);
  assert.match(r.stdout, /Examples:/);
});

test('a .ndjson.zst file decodes to its NDJSON; several files one after the other', async () => {
  const r = await dspipe(['cat', fileOf(0), fileOf(1)]);
  assert.equal(r.code, 0, r.stderr);
  const expected = Buffer.concat([decompress(await readFile(fileOf(0))), decompress(await readFile(fileOf(1)))]).toString('utf8');
  assert.equal(r.stdout, expected);
});

test('a dump folder gives every entity', async () => {
  const r = await dspipe(['cat', join(root, 'd')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, manifest.kinds.reduce((s, k) => s + k.entities, 0));
  for (const line of lines) JSON.parse(line);
  // more kind files than Node's listener limit: cat once left pipeline's listeners on stdout per file, and
  // past ten Node printed a MaxListenersExceededWarning
  assert.ok(manifest.kinds.length > 10, `${manifest.kinds.length} kind files`);
  assert.equal(r.stderr, '', 'nothing on stderr');
});

test('piped into head -1: exit 0, no error message', async () => {
  // the shell connects the two directly, so cat meets a real EPIPE once head has gone
  const d = join(root, 'd');
  const script = `"${process.execPath}" "${MAIN}" cat "${d}" "${d}" "${d}" "${d}" 2>"${root}/cat.err" | head -1; exit \${PIPESTATUS[0]}`;
  const r = await collectOutput(spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(r.stdout.split('\n').filter(Boolean).length, 1);
  assert.equal(r.code, 0);
  assert.equal(await readFile(join(root, 'cat.err'), 'utf8'), '');
});

test('a missing file exits 1 naming it; no file exits 2', async () => {
  const r = await dspipe(['cat', join(root, 'nope.ndjson.zst')]);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes('nope.ndjson.zst'));
  assert.equal((await dspipe(['cat'])).code, 2);
});

test('cat() into a slow output: its backpressure honoured, every byte in order, no listener left on it; an output that fails fails cat()', async () => {
  const chunks: Buffer[] = [];
  const output = new Writable({ highWaterMark: 16, write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), setImmediate(cb)) });
  const events = ['error', 'drain', 'close', 'finish', 'end', 'unpipe'] as const;
  const listeners = () => events.map((e) => output.listenerCount(e));
  const before = listeners();
  const result = await cat({ paths: [join(root, 'd')], output });
  assert.equal(result.files, manifest.kinds.length);
  assert.deepEqual(listeners(), before, 'no listener left on the output');
  assert.equal(output.writableEnded, false, 'the output is not ended');
  const cli = await dspipe(['cat', join(root, 'd')]);
  assert.equal(Buffer.concat(chunks).toString('utf8'), cli.stdout);

  let written = 0;
  const failing = new Writable({ highWaterMark: 16, write: (_chunk, _e, cb) => (++written > 3 ? cb(new Error('disk full')) : setImmediate(cb)) });
  failing.on('error', () => {});
  await assert.rejects(cat({ paths: [join(root, 'd')], output: failing }), /disk full/);
});
