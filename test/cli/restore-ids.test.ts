/**
 * Ids a backend refuses to reserve do not stop a restore: Google's Firestore
 * emulator's ReserveIds fails (UNKNOWN, no message) for ids >= 3·2^51, ids
 * production and the other emulators store and reserve.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { dspipe } from './restore-cli-helpers.js';

const HIGH = 3n * 2n ** 51n;
const IDS = ['5', String(HIGH), String(HIGH + 7n)];
const refusesHighIds = backendName() === 'firestore';

let t: TestBackend;
let root: string;
before(async () => {
  t = await startTestBackend();
  root = await mkdtemp(join(tmpdir(), 'dspipe-restore-ids-'));
  const { projectId } = t.connection;
  const mutations = IDS.map((id) => ({ upsert: { key: { partitionId: { projectId }, path: [{ kind: 'Doc', id }] }, properties: { id: { stringValue: id } } } }));
  await t.client.commit({ projectId, mode: 'NON_TRANSACTIONAL', mutations });
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

test('restore names each id the backend would not reserve, counts them, writes every entity and exits 0', async () => {
  const target = ['--emulator-host', t.emulatorHost, '--project', t.connection.projectId];
  const dumped = await dspipe(['dump', '-n', 'ids', '--root', root, '--namespaces', '(default)', '--kinds', 'Doc', '--quiet', ...target]);
  assert.equal(dumped.code, 0, dumped.stderr);
  const cleared = await dspipe(['clear', '--yes', '--namespaces', '(default)', '--kinds', 'Doc', '--quiet', ...target]);
  assert.equal(cleared.code, 0, cleared.stderr);

  const r = await dspipe(['restore', '-n', 'ids', '--root', root, ...target]);
  assert.equal(r.code, 0, r.stderr);
  if (refusesHighIds) {
    assert.match(r.stderr, new RegExp(`id not reserved: Doc\\(${HIGH}\\)`));
    assert.match(r.stderr, new RegExp(`id not reserved: Doc\\(${HIGH + 7n}\\)`));
    assert.match(r.stderr, /ids not reserved: 2 /);
    assert.match(r.stderr, /\b1 ids reserved/);
  } else {
    assert.doesNotMatch(r.stderr, /not reserved/);
    assert.match(r.stderr, /\b3 ids reserved/);
  }
  const [found] = await t.client.lookup({ projectId: t.connection.projectId, keys: IDS.map((id) => ({ partitionId: { projectId: t.connection.projectId }, path: [{ kind: 'Doc', id }] })) });
  assert.deepEqual(found.found!.map((f: { entity?: { properties?: Record<string, { stringValue?: string }> } }) => f.entity!.properties!.id!.stringValue).sort(), [...IDS].sort());
});
