/**
 * A dump is one consistent snapshot where the backend can read at a time, and
 * says plainly when it cannot (Google's legacy emulator reports no read time
 * and ignores those it is sent: BACKENDS.md, difference 2).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, backendName, type TestBackend } from '../helpers/backend.js';
import { dump, type DumpEvent } from '../../src/commands/dump.js';
import { isDspipeError } from '../../src/errors.js';

const reportsReadTime = backendName() !== 'legacy';
let t: TestBackend;
let root: string;
before(async () => {
  t = await startTestBackend();
  root = await mkdtemp(join(tmpdir(), 'dspipe-snapshot-'));
  const { projectId } = t.connection;
  await t.client.commit({
    projectId,
    mode: 'NON_TRANSACTIONAL',
    mutations: [1, 2, 3].map((i) => ({ upsert: { key: { partitionId: { projectId }, path: [{ kind: 'Task', id: String(i) }] }, properties: { i: { integerValue: String(i) } } } })),
  });
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const context = (events: DumpEvent[] = []) => ({ connection: t.connection, onEvent: (e: DumpEvent) => events.push(e) });
const manifestOf = async (name: string) => JSON.parse(await readFile(join(root, name, 'manifest.json'), 'utf8'));

test('the default dump: a snapshot at the server\'s read time, or current data with one warning and snapshot: false', async () => {
  const events: DumpEvent[] = [];
  const summary = await dump({ name: 'default', root, namespaces: '(default)', kinds: 'Task' }, context(events));
  const manifest = await manifestOf('default');
  const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
  assert.equal(summary.entities, 3);
  if (reportsReadTime) {
    assert.equal(manifest.snapshot, true);
    assert.match(manifest.readTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(manifest.snapshotReason, undefined);
    assert.deepEqual(warnings, []);
  } else {
    assert.equal(manifest.snapshot, false);
    assert.equal(manifest.readTime, null);
    assert.match(manifest.snapshotReason, /reports no read time/);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /cannot be one consistent snapshot/);
    assert.equal(summary.snapshot, false);
  }
});

test('--no-snapshot records why it is not a snapshot, on every backend', async () => {
  await dump({ name: 'current', root, namespaces: '(default)', kinds: 'Task', snapshot: false }, context());
  const manifest = await manifestOf('current');
  assert.equal(manifest.snapshot, false);
  assert.match(manifest.snapshotReason, /--no-snapshot/);
});

test('--read-time: honoured where read times work, refused (not read as now) where the backend ignores them', async () => {
  const readTime = new Date(Date.now() - 2000).toISOString();
  const run = dump({ name: 'at', root, namespaces: '(default)', kinds: 'Task', readTime }, context());
  if (reportsReadTime) {
    const summary = await run;
    assert.equal(summary.snapshot, true);
    assert.equal(summary.readTime, readTime.replace(/Z$/, '000Z'));
  } else {
    await assert.rejects(run, (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--read-time/.test(err.message) && /readTime/.test(err.message) && /ignores the read times/.test(err.message));
    await assert.rejects(readFile(join(root, 'at', 'manifest.json')), 'nothing was written');
  }
});
