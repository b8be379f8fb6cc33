/** `dspipe demo --emulator-host`: the main job against an emulator already running (Google's or ours). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { dspipe } from './restore-cli-helpers.js';
import { demo } from '../../src/commands/demo.js';
import { isDspipeError } from '../../src/errors.js';

let t: TestBackend;
let root: string;
before(async () => {
  t = await startTestBackend();
  root = await mkdtemp(join(tmpdir(), 'dspipe-demo-external-'));
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

test('the demo runs on the backend it is pointed at and verifies every entity', async () => {
  // Data of another project on the same emulator is left alone.
  const other = t.connection.projectId;
  await t.client.commit({ projectId: other, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key: { partitionId: { projectId: other }, path: [{ kind: 'Keep', name: 'me' }] }, properties: {} } }] });
  const project = `${other}-demo`;
  const r = await dspipe(['demo', '--emulator-host', t.emulatorHost, '--project', project, '--root', root, '--users', '10']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^emulator  ${t.emulatorHost.replace(/[.]/g, '\\.')} \\(project ${project}\\)`, 'm'));
  assert.match(r.stdout, /^verify\s+\d+ entities looked up: all equal to the original/m);
  const [kept] = await t.client.lookup({ projectId: other, keys: [{ partitionId: { projectId: other }, path: [{ kind: 'Keep', name: 'me' }] }] });
  assert.equal(kept.found?.length, 1);
});

test('the demo refuses a connection that is not an emulator (it clears what it seeded)', async () => {
  const saved = process.env.DATASTORE_EMULATOR_HOST;
  delete process.env.DATASTORE_EMULATOR_HOST;
  try {
    await assert.rejects(demo({ root }, { connection: { projectId: 'my-production-app' } }), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /only against an emulator/.test(err.message));
  } finally {
    if (saved !== undefined) process.env.DATASTORE_EMULATOR_HOST = saved;
  }
});
