/** `dspipe clear` as a child process: confirmation rules and exit codes. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { sampleDataset } from '../../src/demo/dataset.js';
import { seedEntities } from '../../src/demo/seed.js';
import { readAll } from '../commands/restore-fixtures.js';
import { dspipe } from './restore-cli-helpers.js';

let t: TestEmulator;
let count: number;
before(async () => {
  t = await startTestEmulator({ projectId: 'cli-clear' });
  const entities = sampleDataset({ projectId: 'cli-clear', users: 2, large: false });
  count = entities.length;
  await seedEntities(t.client, t.connection, entities);
});
after(() => t.close());
const at = ['--emulator-host', '', '--project', 'cli-clear'];

test('--help documents every flag and the confirmation rule', async () => {
  const r = await dspipe(['clear', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--kinds', '--namespaces', '--yes', '--concurrency', '--writers', '--batch-size', '--quiet', '--json', '--project', '--database', '--emulator-host']) assert.ok(r.stdout.includes(flag), flag);
  assert.match(r.stdout, /real project/);
});

test('refuses without --yes (exit 2), and deletes nothing', async () => {
  at[1] = t.emulator.address;
  const r = await dspipe(['clear', ...at]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--yes/);
  assert.equal((await readAll(t.client, t.connection)).length, count);
});

test('against a real project, the project must be named on the command line', async () => {
  // project from the environment only: refused before any request is made
  const r = await dspipe(['clear', '--yes'], { env: { GOOGLE_CLOUD_PROJECT: 'some-prod-app' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /named/);
  assert.match(r.stderr, /--project some-prod-app/);
});

test('--yes against the emulator empties everything and prints counts', async () => {
  at[1] = t.emulator.address;
  const r = await dspipe(['clear', ...at, '--yes', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.deleted, count);
  assert.equal((await readAll(t.client, t.connection)).length, 0);
});
