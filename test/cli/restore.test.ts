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
import { readManifest } from '../commands/dump-helpers.js';
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

interface Row { namespace: string; kind: string; targetNamespace: string; entities: number; written: number; rejected: number }

test('--in -: one row per namespace and kind written to (after --namespace-map), in the summary and --json, on both transports; --kinds/--namespaces select the same in --dry-run', async () => {
  const cat = await dspipe(['cat', join(root, 'd1')]);
  assert.equal(cat.code, 0, cat.stderr);
  const manifest = await readManifest(join(root, 'd1'));
  assert.ok(new Set(manifest.kinds.map((k) => k.namespace)).size >= 3 && new Set(manifest.kinds.map((k) => k.kind)).size >= 3, 'the dump spans namespaces and kinds');
  const moved = (ns: string) => (ns === 'tenant-a' ? 'ta' : ns);
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const expected = (written: boolean, kinds = manifest.kinds): Row[] =>
    kinds
      .map((k) => ({ namespace: k.namespace, kind: k.kind, targetNamespace: moved(k.namespace), entities: k.entities, written: written ? k.entities : 0, rejected: 0 }))
      .sort((a, b) => byName(a.targetNamespace, b.targetNamespace) || byName(a.kind, b.kind));
  const rowsOf = (out: string): Row[] =>
    (JSON.parse(out) as { kinds: Row[] }).kinds.map(({ namespace, kind, targetNamespace, entities, written, rejected }) => ({ namespace, kind, targetNamespace, entities, written, rejected }));
  /** (namespace, kind) → entities of what the project holds. */
  const held = async (projectId: string) => {
    const counts = new Map<string, number>();
    for (const e of await readTarget(projectId, ['', 'ta', 'tenant-a', 'tenant-b'])) {
      const id = `${e.key!.partitionId!.namespaceId ?? ''}/${e.key!.path!.at(-1)!.kind}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  const wanted = (rows: Row[]) => new Map(rows.map((r) => [`${r.targetNamespace}/${r.kind}`, r.entities]));

  for (const transport of ['wire', 'object']) {
    const project = `cli-stdin-${transport}`;
    const json = await dspipe(['restore', '--in', '-', ...at(project), '--namespace-map', 'tenant-a=ta', '--transport', transport, '--json'], { input: cat.stdout });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(rowsOf(json.stdout), expected(true), `${transport}: rows per target namespace and kind`);
    assert.equal(JSON.parse(json.stdout).written, count);
    assert.deepEqual(await held(project), wanted(expected(true)), `${transport}: the data restored where the rows say`);

    // the same lines again with --mode insert: every one refused, counted in its own row
    const again = await dspipe(['restore', '--in', '-', ...at(project), '--namespace-map', 'tenant-a=ta', '--transport', transport, '--mode', 'insert', '--on-error', 'skip', '--rejects', join(root, `rejects-${transport}.ndjson`), '--json'], { input: cat.stdout });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(rowsOf(again.stdout), expected(false).map((r) => ({ ...r, rejected: r.entities })), `${transport}: refused entities per row`);
    // without --on-error skip the first refusal ends it, "entity already exists" said once
    const refused = await dspipe(['restore', '--in', '-', ...at(project), '--namespace-map', 'tenant-a=ta', '--transport', transport, '--mode', 'insert', '--kinds', 'User'], { input: cat.stdout });
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stderr.match(/already exists/g)?.length, 1, refused.stderr);
    assert.doesNotMatch(refused.stderr, /\n {4}at /);

    // the text summary: the same rows, no "(stdin)"
    const text = await dspipe(['restore', '--in', '-', ...at(`${project}-text`), '--transport', transport], { input: cat.stdout });
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stderr, /\(stdin\)/, text.stderr);
    for (const k of manifest.kinds) {
      const ns = k.namespace === '' ? '\\(default\\)' : k.namespace;
      assert.match(text.stderr, new RegExp(`^${ns} +${k.kind} +${k.entities} +${k.entities} +0$`, 'm'), `${transport}: ${k.namespace}/${k.kind} in\n${text.stderr}`);
    }

    // a selection: the dry run reports exactly what the real run then writes
    const kind = manifest.kinds.find((k) => k.namespace === 'tenant-b')!.kind;
    const select = ['--namespaces', 'tenant-b,(default)', '--kinds', kind];
    const selected = expected(true, manifest.kinds.filter((k) => (k.namespace === 'tenant-b' || k.namespace === '') && k.kind === kind));
    const dry = await dspipe(['restore', '--in', '-', ...at(`${project}-sel`), ...select, '--transport', transport, '--dry-run', '--json'], { input: cat.stdout });
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).entities, selected.reduce((n, r) => n + r.entities, 0), `${transport}: the dry run counts only the selected lines`);
    assert.deepEqual(rowsOf(dry.stdout), selected.map((r) => ({ ...r, written: 0 })));
    const dryText = await dspipe(['restore', '--in', '-', ...at(`${project}-sel`), ...select, '--transport', transport, '--dry-run'], { input: cat.stdout });
    assert.match(dryText.stderr, new RegExp(`^dry run: stdin verified, ${JSON.parse(dry.stdout).entities} entities in ${selected.length} kinds would be written`, 'm'), dryText.stderr);
    const real = await dspipe(['restore', '--in', '-', ...at(`${project}-sel`), ...select, '--transport', transport, '--json'], { input: cat.stdout });
    assert.equal(real.code, 0, real.stderr);
    assert.deepEqual(rowsOf(real.stdout), selected);
    assert.equal(JSON.parse(real.stdout).written, JSON.parse(dry.stdout).entities, 'dry run and real run agree');
    assert.deepEqual(await held(`${project}-sel`), wanted(selected));
  }
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
