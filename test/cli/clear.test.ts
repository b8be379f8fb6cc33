/** `dspipe clear` as a child process: confirmation rules and exit codes. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendTraits, namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { DEMO_NAMESPACES, sampleDataset } from '../../src/demo/dataset.js';
import { seedEntities } from '../../src/demo/seed.js';
import { readAll } from '../commands/restore-fixtures.js';
import { dspipe } from './restore-cli-helpers.js';

let t: TestBackend;
const all = () => readAll(t.client, t.connection, DEMO_NAMESPACES);
let count: number;
before(async () => {
  t = await startTestBackend({ projectId: 'cli-clear' });
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
  at[1] = t.emulatorHost;
  const r = await dspipe(['clear', ...at]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--yes/);
  assert.equal((await all()).length, count);
});

test('against a real project, the project must be named on the command line', async () => {
  // project from the environment only: refused before any request is made
  const r = await dspipe(['clear', '--yes'], { env: { GOOGLE_CLOUD_PROJECT: 'some-prod-app' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /named/);
  assert.match(r.stderr, /--project some-prod-app/);
});

test('--yes against the emulator empties everything and prints counts', async () => {
  at[1] = t.emulatorHost;
  // Where the backend lists no namespaces, they must be named (clear says so otherwise: the next test).
  const namespaces = namespacesToName(DEMO_NAMESPACES);
  const r = await dspipe(['clear', ...at, '--yes', '--json', ...(namespaces ? ['--namespaces', namespaces] : [])]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.deleted, count);
  assert.equal((await all()).length, 0);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('dspipe: warning: '));
  assert.equal(warnings.length, backendTraits().listsKinds ? 0 : 1, r.stderr);
});

test('where the backend lists no namespaces, --yes without --namespaces says so and clears the default namespace', async () => {
  const b = await t.fresh();
  try {
    await seedEntities(b.client, b.connection, sampleDataset({ projectId: b.connection.projectId, users: 1, large: false }));
    const r = await dspipe(['clear', '--emulator-host', b.emulatorHost, '--project', b.connection.projectId, '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const left = await readAll(b.client, b.connection, DEMO_NAMESPACES);
    if (backendTraits().listsKinds) {
      assert.equal(left.length, 0);
      assert.doesNotMatch(r.stderr, /warning/);
    } else {
      assert.match(r.stderr, /^dspipe: warning: .*namespaces.*--namespaces/m);
      assert.deepEqual([...new Set(left.map((e) => e.key!.partitionId!.namespaceId))].sort(), ['tenant-a', 'tenant-b']);
    }
  } finally {
    await b.close();
  }
});
