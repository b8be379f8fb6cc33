/** `dspipe restore` as users run it: a child process against the test backend (DSPIPE_TEST_BACKEND). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { DEMO_NAMESPACES, sampleDataset } from '../../src/demo/dataset.js';
import { seedEntities } from '../../src/demo/seed.js';
import { dump } from '../../src/commands/dump.js';
import { readAll } from '../commands/restore-fixtures.js';
import { dspipe } from './restore-cli-helpers.js';

let t: TestBackend;
let root: string;
let count: number;
const target = (projectId: string) => ({ ...t.connection, projectId });
const at = (projectId: string) => ['--emulator-host', t.emulatorHost, '--project', projectId];
/** Every entity of a target project, in the dataset's namespaces (or those given). */
const readTarget = (projectId: string, namespaces: readonly string[] = DEMO_NAMESPACES) => readAll(t.client, target(projectId), namespaces);
/** A dump of the whole source: told the namespaces where the backend lists none. */
const dumpSource = (name: string) => {
  const namespaces = namespacesToName(DEMO_NAMESPACES);
  return dump({ root, name, ...(namespaces && { namespaces }) }, { connection: { emulatorHost: t.emulatorHost, projectId: 'cli-src' } });
};

before(async () => {
  t = await startTestBackend({ projectId: 'cli-src' });
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-restore-'));
  const entities = sampleDataset({ projectId: 'cli-src', users: 2, large: false });
  count = entities.length;
  await seedEntities(t.client, t.connection, entities);
  await dumpSource('d1');
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

test('--help documents every flag with defaults and examples', async () => {
  const r = await dspipe(['restore', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--name', '--root', '--in', '--kinds', '--namespaces', '--project', '--database', '--namespace-map', '--emulator-host', '--mode', '--concurrency', '--writers', '--batch-size', '--batch-bytes', '--options', '--on-error', '--rejects', '--dry-run', '--quiet', '--json']) {
    assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.match(r.stdout, /default: 4/);
  assert.match(r.stdout, /Examples:/);
});

test('restores a dump by name, with a summary on stderr', async () => {
  const r = await dspipe(['restore', '-n', 'd1', '--root', root, ...at('cli-a'), '--namespace-map', 'tenant-a=ta']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`${count} entities .* written to project cli-a`));
  const all = await readTarget('cli-a', ['', 'ta', 'tenant-b']);
  assert.equal(all.length, count);
  assert.ok(all.some((e) => e.key!.partitionId!.namespaceId === 'ta'));
});

test('--dry-run --json verifies, reports, writes nothing', async () => {
  const r = await dspipe(['restore', '-n', 'd1', '--root', root, ...at('cli-b'), '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.dryRun, true);
  assert.equal(result.entities, count);
  assert.equal((await readTarget('cli-b')).length, 0);
});

test('--in - reads NDJSON from stdin', async () => {
  const cat = await dspipe(['cat', join(root, 'd1')]);
  assert.equal(cat.code, 0, cat.stderr);
  const r = await dspipe(['restore', '--in', '-', ...at('cli-c'), '--quiet'], { input: cat.stdout });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal((await readTarget('cli-c')).length, count);
});

test('a damaged dump: exit 1, the file named, nothing written', async () => {
  const copy = join(root, 'broken');
  await dumpSource('broken');
  const manifest = JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8'));
  const file = join(copy, ...manifest.kinds.at(-1).file.split('/'));
  const bytes = await readFile(file);
  bytes[bytes.length - 3] ^= 1;
  await writeFile(file, bytes);
  const r = await dspipe(['restore', '-n', 'broken', '--root', root, ...at('cli-d')]);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(file), r.stderr);
  assert.match(r.stderr, /hint:/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal((await readTarget('cli-d')).length, 0);
});

test('bad usage exits 2 with a hint', async () => {
  for (const argv of [['restore'], ['restore', '-n', 'd1', '--mode', 'merge'], ['restore', '-n', 'd1', '--bogus'], ['restore', 'd1']]) {
    const r = await dspipe([...argv, '--root', root, ...at('cli-e')]);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^dspipe: /);
  }
});
