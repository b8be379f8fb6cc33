/**
 * One run per dump folder: two dumps of one name at once (cron overlap, a
 * retry wrapper) must not both write it — the second refuses, naming the run
 * that holds the folder. A lock left by a dead run is taken over. And
 * --resume keeps a finished kind only if its file's bytes are intact.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { dump } from '../../src/commands/dump.js';
import { DUMP_LOCK_FILE, lockDumpFolder } from '../../src/commands/dump-lock.js';
import { isDspipeError } from '../../src/errors.js';
import { seedKind } from '../stages/seed.js';
import { readManifest, seedTarget } from './dump-helpers.js';

let t: TestBackend;
let root: string;
before(async () => {
  t = await startTestBackend();
  await seedKind(seedTarget(t), '', 'Item', 300);
  await seedKind(seedTarget(t), '', 'Later', 40);
  root = await mkdtemp(join(tmpdir(), 'dspipe-lock-'));
});
after(() => t.close());

const context = () => ({ connection: t.connection, client: t.client });
/** A pid that is certainly not running: a child that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;

test('two dumps of one name at once: one writes the folder, the other refuses naming it', async () => {
  const results = await Promise.allSettled([
    dump({ root, name: 'overlap', namespaces: ['(default)'] }, context()),
    dump({ root, name: 'overlap', namespaces: ['(default)'] }, context()),
  ]);
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(refused.length, 1, `exactly one refused: ${results.map((r) => r.status).join(', ')}`);
  const err = refused[0]!.reason;
  assert.ok(isDspipeError(err, 'DSPIPE_DUMP_LOCKED'), String(err));
  assert.match(err.message, new RegExp(`is in use: another run holds it: dump \\(pid ${process.pid} on ${hostname().replace(/[.]/g, '\\.')}, started `));
  const m = await readManifest(join(root, 'overlap'));
  assert.equal(m.complete, true);
  assert.equal(m.kinds.find((k) => k.kind === 'Item')!.entities, 300);
  assert.ok(!(await readdir(join(root, 'overlap'))).includes(DUMP_LOCK_FILE), 'the lock is released at the end');
});

test('--resume while the dump runs is refused too; after it ends, it goes ahead', async () => {
  // A running dump is one that holds the folder's lock: take it as a dump does rather than race a
  // second run against the first (which finishes 340 entities before the second gets there on a
  // loaded machine). The folder is a finished dump, so a resume that goes ahead keeps its kinds.
  await dump({ root, name: 'resumed', namespaces: ['(default)'] }, context());
  const running = await lockDumpFolder(join(root, 'resumed'), 'dump');
  const refused = await dump({ root, name: 'resumed', namespaces: ['(default)'], resume: true }, context()).then(
    () => assert.fail('expected a refusal while the lock is held'),
    (e: unknown) => e,
  );
  assert.ok(isDspipeError(refused, 'DSPIPE_DUMP_LOCKED') && /dump \(pid /.test(refused.message), String(refused));
  await running.release();
  const again = await dump({ root, name: 'resumed', namespaces: ['(default)'], resume: true }, context());
  assert.equal(again.kinds.find((k) => k.kind === 'Item')!.resumed, true);
});

test('a lock left by a run that died on this host is stale: the dump takes it over', async () => {
  const dir = join(root, 'stale');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, DUMP_LOCK_FILE), JSON.stringify({ pid: deadPid(), host: hostname(), command: 'dump', startedAt: '2026-01-01T00:00:00.000Z' }));
  const summary = await dump({ root, name: 'stale', namespaces: ['(default)'] }, context());
  assert.equal(summary.kinds.find((k) => k.kind === 'Item')!.entities, 300);
  assert.ok(!(await readdir(dir)).includes(DUMP_LOCK_FILE));
});

test('a lock held on another host is refused with the host named and what to do', async () => {
  const dir = join(root, 'elsewhere');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, DUMP_LOCK_FILE), JSON.stringify({ pid: 4242, host: 'batch-7.example', command: 'dump', startedAt: '2026-01-01T00:00:00.000Z' }));
  const err = await dump({ root, name: 'elsewhere', namespaces: ['(default)'] }, context()).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_DUMP_LOCKED'), String(err));
  assert.match(err.message, /pid 4242 on batch-7\.example/);
  assert.match(err.hint ?? '', new RegExp(`delete .*${DUMP_LOCK_FILE.replace('.', '\\.')}`));
  assert.deepEqual(await readdir(dir), [DUMP_LOCK_FILE], 'nothing written');
});

test('lockDumpFolder: exclusive while held, free after release; release leaves another run\'s lock alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-lock-unit-'));
  const lock = await lockDumpFolder(dir, 'convert');
  const owner = JSON.parse(await readFile(lock.file, 'utf8')) as { pid: number; host: string; command: string };
  assert.deepEqual([owner.pid, owner.host, owner.command], [process.pid, hostname(), 'convert']);
  await assert.rejects(lockDumpFolder(dir, 'dump'), (e: unknown) => isDspipeError(e, 'DSPIPE_DUMP_LOCKED') && /convert \(pid/.test(e.message));
  await lock.release();
  const next = await lockDumpFolder(dir, 'dump');
  await writeFile(next.file, JSON.stringify({ pid: 1, host: 'other', command: 'dump', startedAt: 'x' }));
  await lock.release(); // the old handle: not ours any more
  assert.ok((await readdir(dir)).includes(DUMP_LOCK_FILE));
  await writeFile(next.file, '');
  await assert.rejects(lockDumpFolder(dir, 'dump'), (e: unknown) => isDspipeError(e, 'DSPIPE_DUMP_LOCKED') && /cannot be read/.test(e.message));
});

test('--resume dumps again a finished kind whose file was damaged without changing its size', async () => {
  const controller = new AbortController();
  await assert.rejects(dump({ root, name: 'damaged', namespaces: ['(default)'], kinds: 'Item,Later', concurrency: 1 }, {
    ...context(), signal: controller.signal, onEvent: (e) => void (e.type === 'kind-done' && controller.abort()),
  }));
  const dir = join(root, 'damaged');
  const partial = await readManifest(dir);
  const item = partial.kinds.find((k) => k.complete)!;
  assert.ok(item && !partial.complete, 'one kind finished, the dump did not');
  const file = join(dir, ...item.file.split('/'));
  const bytes = await readFile(file);
  bytes[bytes.length >> 1]! ^= 0xff;
  await writeFile(file, bytes);
  const summary = await dump({ root, name: 'damaged', namespaces: ['(default)'], kinds: 'Item,Later', resume: true }, context());
  assert.equal(summary.kinds.find((k) => k.kind === item.kind)!.resumed, false, 'dumped again, not kept');
  const m = await readManifest(dir);
  assert.equal(m.complete, true);
  const entry = m.kinds.find((k) => k.kind === item.kind)!;
  assert.equal(createHash('sha256').update(await readFile(file)).digest('hex'), entry.sha256);
});
