import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { backendTraits, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { expectedCounts, seedUsers } from '../migrate/fixtures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let t: TestBackend;
before(async () => {
  t = await startTestBackend();
  await seedUsers(t.client, t.connection, 40);
});
after(() => t.close());

function dspipe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, DATASTORE_EMULATOR_HOST: t.emulatorHost, DATASTORE_PROJECT_ID: t.connection.projectId } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

test('--help documents every flag', async () => {
  const { code, stdout } = await dspipe(['schema', '--help']);
  assert.equal(code, 0);
  for (const flag of ['--kinds', '--namespaces', '--from', '--fast', '--no-snapshot', '--json', '--quiet', '--project', '--database', '--emulator-host']) assert.ok(stdout.includes(flag), flag);
  assert.match(stdout, /Examples:/);
});

test('a table on stdout, JSON with --json', async () => {
  const exp = expectedCounts(40);
  let r = await dspipe(['schema', '--kinds', 'User']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(default\) \/ User — 40 entities/);
  assert.match(r.stdout, new RegExp(`birthday\\s+timestamp ${exp.timestamp} · string ${exp.string} · missing ${exp.missing}`));
  r = await dspipe(['schema', '--json']);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.kinds[0].properties.birthday.types, { timestamp: exp.timestamp, string: exp.string });
  // What this backend cannot do is a warning on stderr, never silence: no read time (legacy), no listing (Firestore).
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('dspipe: warning: '));
  const traits = backendTraits();
  assert.equal(warnings.length, (traits.readTimes ? 0 : 1) + (traits.listsKinds ? 0 : 2), r.stderr);
});

test(
  'metadata with --fast',
  async () => {
    const r = await dspipe(['schema', '--fast']);
    assert.equal(r.code, 0, r.stderr);
    if (backendTraits().listsProperties) assert.match(r.stdout, /birthday\s+INT64 · STRING/);
    else assert.match(r.stderr, /^dspipe: warning: .*propert/m);
  },
);

test('bad usage exits 2; a missing dump exits 1', async () => {
  assert.equal((await dspipe(['schema', '--fast', '--from', 'x'])).code, 2);
  assert.equal((await dspipe(['schema', '--kinds', ''])).code, 2);
  const r = await dspipe(['schema', '--from', '/nonexistent/dump']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no dump folder/);
  // the hint is schema's: a dump is a folder with manifest.json; restore's --in is no flag of schema
  assert.match(r.stderr, /\n {2}hint: .*manifest\.json/);
  assert.doesNotMatch(r.stderr, /--in\b/);
});
