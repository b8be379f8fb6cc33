import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { backendName, backendTraits, dspipeOnly, namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { dump, type DumpContext, type DumpEvent, type DumpRunOptions } from '../../src/commands/dump.js';
import { encodeEntity, decodeEntity } from '../../src/format/entity-codec.js';
import { compareKeys } from '../../src/model/key-order.js';
import { isDspipeError } from '../../src/errors.js';
import { formatManifest } from '../../src/format/manifest.js';
import { serverReadTime, timestampToRfc3339 } from '../../src/datastore/run-query.js';
import type { IEntity } from '../../src/model/proto.js';
import { lookupAll, seedKind, sampleEntity, put } from '../stages/seed.js';
import { decompress, kindLines, listFiles, readManifest, seedTarget, timeless } from './dump-helpers.js';

const HOSTILE_KINDS = ['../x', 'a/b', 'CON', 'con', 'NUL.txt', 'trailing. ', 'Ünïcødé 日本', 'K'.repeat(400), 'k'.repeat(400), 'item'];

/**
 * Real Datastore, and both Google emulators, allow only [0-9A-Za-z._-]{0,100} in
 * namespaces ("Illegal string "a/b" in namespace id."); dspipe's emulator takes
 * any, and so must the file names.
 */
const traits = backendTraits();
const HOSTILE_NAMESPACES = traits.anyNamespace ? ['a/b', 'CON', 'con', 'Ünï ', 'x'.repeat(300)] : ['CON', 'con', 'x'.repeat(100)];
const PLAN: Array<[string, string, number]> = [
  ['', 'Item', 700], ['', 'Small', 3], ['tenant-1', 'Item', 40], ['..', 'Order', 12],
  ...HOSTILE_KINDS.map((k): [string, string, number] => ['', k, 2]),
  ...HOSTILE_NAMESPACES.map((ns): [string, string, number] => [ns, 'K', 1]),
];
/** What a dump of "everything" must be told on this backend (the namespaces, where it lists none). */
const ALL_NAMESPACES = namespacesToName(PLAN.map(([ns]) => ns));

let t: TestBackend;
let root: string;
/** Expected lines per "namespace\0kind". */
const expected = new Map<string, string[]>();

async function seedAll(target: TestEmulator): Promise<Map<string, IEntity[]>> {
  const seeded = new Map<string, IEntity[]>();
  for (const [ns, kind, n] of PLAN) seeded.set(`${ns}\0${kind}`, await seedKind(target, ns, kind, n));
  return seeded;
}

before(async () => {
  t = await startTestBackend();
  root = await mkdtemp(join(tmpdir(), 'dspipe-dump-'));
  for (const [id, entities] of await seedAll(seedTarget(t))) {
    const keys = entities.map((e) => e.key!).sort(compareKeys);
    expected.set(id, (await lookupAll(seedTarget(t), keys)).map(encodeEntity));
  }
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * A dump's options under `root`, and its context: this backend, with the signal
 * and onEvent given. A dump that selects neither namespaces nor kinds is of
 * everything, so it is told the namespaces where the backend lists none.
 */
function base(extra: DumpRunOptions & Pick<DumpContext, 'signal' | 'onEvent'> = {}): [DumpRunOptions, DumpContext] {
  const { signal, onEvent, ...options } = extra;
  const everything = options.namespaces === undefined && options.kinds === undefined && ALL_NAMESPACES !== undefined;
  return [{ root, ...(everything && { namespaces: ALL_NAMESPACES }), ...options }, { connection: t.connection, ...(signal && { signal }), ...(onEvent && { onEvent }) }];
}

test('dumps every kind of every namespace with exact content, inside the folder', async () => {
  const events: DumpEvent[] = [];
  const summary = await dump(...base({ name: 'full', onEvent: (e) => events.push(e) }));
  const dir = join(root, 'full');
  const manifest = await readManifest(dir);
  assert.equal(manifest.complete, true);
  if (traits.readTimes) {
    assert.match(manifest.readTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(manifest.snapshot, true);
  } else {
    // No read times here: current data, and the manifest says it is not a snapshot (and why).
    assert.equal(manifest.readTime, null);
    assert.equal(manifest.snapshot, false);
    assert.match(manifest.snapshotReason ?? '', /no read time/);
  }
  assert.deepEqual(
    manifest.kinds.map((k) => `${k.namespace}\0${k.kind}`).sort(),
    [...expected.keys()].sort(),
  );
  for (const k of manifest.kinds) {
    const lines = await kindLines(dir, k.file);
    assert.deepEqual(lines, expected.get(`${k.namespace}\0${k.kind}`), `${k.namespace}/${k.kind}`);
    assert.equal(k.entities, lines.length);
    assert.equal(k.bytes, (await stat(join(dir, k.file))).size);
    assert.equal(k.complete, true);
    // Ancestor paths and both id styles survive the round trip.
    for (const line of lines) assert.equal(decodeEntity(line).key!.partitionId!.namespaceId, k.namespace);
  }
  const item = (await kindLines(dir, manifest.kinds.find((k) => k.kind === 'Item' && k.namespace === '')!.file)).map((l) => decodeEntity(l));
  assert.ok(item.some((e) => e.key!.path!.length === 2 && e.key!.path![0]!.kind === 'Parent'));
  assert.ok(item.some((e) => e.key!.path!.at(-1)!.id) && item.some((e) => e.key!.path!.at(-1)!.name));
  const files = await listFiles(dir);
  assert.deepEqual(files, [...manifest.kinds.map((k) => k.file), 'dump.log', 'manifest.json'].sort());
  assert.equal(summary.entities, [...expected.values()].reduce((n, l) => n + l.length, 0));
  assert.equal(summary.kinds.length, expected.size);
  assert.ok(events.some((e) => e.type === 'kind-done') && events.find((e) => e.type !== 'warning')!.type === 'start');
  // What the backend cannot do is said once, before the start: no read time (legacy), no kind listing (Firestore: told the namespaces, not the kinds).
  const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
  const expectedWarnings = [...(traits.readTimes ? [] : [/no read time/]), ...(traits.listsKinds ? [] : [/does not list kinds/])];
  assert.equal(warnings.length, expectedWarnings.length, JSON.stringify(warnings));
  expectedWarnings.forEach((re, i) => assert.match(warnings[i]!, re));
  assert.ok(events.findIndex((e) => e.type === 'start') >= warnings.length);
});

test('the same data dumps to the same bytes; splits do not change them', async () => {
  await dump(...base({ name: 'again-1' }));
  await dump(...base({ name: 'again-split', splits: 5, pageSize: 37, concurrency: 2 }));
  const a = await readManifest(join(root, 'again-1'));
  const b = await readManifest(join(root, 'again-split'));
  assert.deepEqual(timeless(a), timeless(b));
  const full = await readManifest(join(root, 'full'));
  assert.deepEqual(timeless(a), timeless(full));
});

test('selection, plain NDJSON, and options.json overrides', async () => {
  const optionsFile = join(root, 'opts.json');
  await writeFile(optionsFile, JSON.stringify({ dump: { Item: { splits: 3, pageSize: 11 } } }));
  const events: DumpEvent[] = [];
  await dump(...base({ name: 'sel', kinds: 'Item,Small,-Small', namespaces: '(default)', compress: 'none', optionsFile, onEvent: (e) => events.push(e) }));
  const m = await readManifest(join(root, 'sel'));
  assert.deepEqual(m.kinds.map((k) => [k.namespace, k.kind, k.file]), [['', 'Item', '(default)/Item.ndjson']]);
  assert.deepEqual(await kindLines(join(root, 'sel'), m.kinds[0]!.file, 'none'), expected.get('\0Item'));
  const start = events.find((e) => e.type === 'kind-start');
  assert.equal(start?.type === 'kind-start' && start.splits, 3);
});

/**
 * With --splits auto a kind read alone gets the dump's spare streams (the
 * StreamPool): one per key range, up to concurrency × autoSplits = 16. Where
 * the backend has `__scatter__` (dspipe's, legacy) a 6,500-entity kind is more
 * than one range; Firestore's emulator has no scatter property, so a kind is
 * one range read by one stream there. A number given is kept to.
 */
test('a kind read alone takes the spare streams, one per key range; --splits N is kept to', async () => {
  const fresh = await t.fresh();
  const seed = seedTarget(fresh);
  try {
    const entities = await seedKind(seed, '', 'Wide', 6500);
    const want = (await lookupAll(seed, entities.map((e) => e.key!).sort(compareKeys))).map(encodeEntity);
    const streamsOf = async (name: string) => {
      const log = await readFile(join(root, name, 'dump.log'), 'utf8');
      const m = /done ""\/"Wide": .*?(\d+) key range\(s\), at most (\d+) stream\(s\) at once/.exec(log);
      assert.ok(m, `no "done" line for Wide in dump.log:\n${log}`);
      return { ranges: Number(m[1]), streams: Number(m[2]) };
    };
    const at = { connection: fresh.connection };
    await dump({ root, name: 'wide-auto', kinds: 'Wide', namespaces: '(default)' }, at);
    const manifest = await readManifest(join(root, 'wide-auto'));
    assert.deepEqual(await kindLines(join(root, 'wide-auto'), manifest.kinds[0]!.file), want);
    const auto = await streamsOf('wide-auto');
    if (backendName() === 'firestore') {
      assert.deepEqual(auto, { ranges: 1, streams: 1 });
    } else {
      assert.ok(auto.ranges > 2, `${auto.ranges} key range(s): scatter should split 6,500 entities further`);
      assert.equal(auto.streams, Math.min(auto.ranges, 16));
    }
    await dump({ root, name: 'wide-2', kinds: 'Wide', namespaces: '(default)', splits: 2 }, at);
    const two = await readManifest(join(root, 'wide-2'));
    assert.deepEqual(await kindLines(join(root, 'wide-2'), two.kinds[0]!.file), want);
    assert.ok((await streamsOf('wide-2')).streams <= 2);
  } finally {
    await fresh.close();
  }
});

test('--read-time dumps an earlier snapshot; --no-snapshot reads current data', async () => {
  const fresh = await t.fresh();
  const seed = seedTarget(fresh);
  try {
    await seedKind(seed, '', 'T', 5);
    const at = { connection: fresh.connection };
    if (traits.readTimes) {
      const readTime = timestampToRfc3339(await serverReadTime(fresh.client, fresh.connection));
      await put(seed, [sampleEntity(seed, '', 'T', 99)]);
      const past = await dump({ root, name: 'past', readTime }, at);
      assert.equal(past.readTime, readTime);
      assert.equal(past.entities, 5);
    } else {
      // The backend ignores read times: --read-time is refused, not read as now, and nothing is written.
      const readTime = new Date(Date.now() - 1000).toISOString();
      await put(seed, [sampleEntity(seed, '', 'T', 99)]);
      await assert.rejects(dump({ root, name: 'past', readTime }, at), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--read-time/.test(err.message));
      await assert.rejects(stat(join(root, 'past', 'manifest.json')), { code: 'ENOENT' });
    }
    const current = await dump({ root, name: 'current', snapshot: false }, at);
    assert.equal(current.entities, 6);
    const manifest = await readManifest(join(root, 'current'));
    assert.equal(manifest.readTime, null);
    assert.equal(manifest.snapshot, false);
  } finally {
    await fresh.close();
  }
});

test('a named database dumps its own data and records it as the source', async () => {
  const named = await startTestBackend({ databaseId: 'other-db' });
  try {
    const entities = await seedKind(seedTarget(named), 'ns', 'Thing', 30);
    const lines = (await lookupAll(seedTarget(named), entities.map((e) => e.key!).sort(compareKeys))).map(encodeEntity);
    const namespaces = namespacesToName(['ns']);
    await dump({ root, name: 'named-db', ...(namespaces && { namespaces }) }, { connection: { emulatorHost: named.emulatorHost, projectId: named.connection.projectId, databaseId: 'other-db' } });
    const m = await readManifest(join(root, 'named-db'));
    assert.equal(m.source.databaseId, 'other-db');
    assert.deepEqual(await kindLines(join(root, 'named-db'), m.kinds[0]!.file), lines);
    assert.equal(decodeEntity(lines[0]!).key!.partitionId!.databaseId, 'other-db');
  } finally {
    await named.close();
  }
});

test(
  'a named database dumps none of the other databases of its project',
  async () => {
    const named = await startTestBackend({ databaseId: 'mine' });
    const neighbour = { ...named.connection, databaseId: '' };
    try {
      const entities = await seedKind(seedTarget(named), '', 'Thing', 5);
      await seedKind(seedTarget({ connection: neighbour, client: named.client }), '', 'Thing', 7);
      const lines = (await lookupAll(seedTarget(named), entities.map((e) => e.key!).sort(compareKeys))).map(encodeEntity);
      const summary = await dump({ root, name: 'mine-db' }, { connection: named.connection });
      assert.equal(summary.entities, 5);
      const m = await readManifest(join(root, 'mine-db'));
      assert.deepEqual(m.kinds.map((k) => [k.namespace, k.kind, k.entities]), [['', 'Thing', 5]]);
      assert.deepEqual(await kindLines(join(root, 'mine-db'), m.kinds[0]!.file), lines);
    } finally {
      await named.close();
    }
  },
);

test('bad options fail with coded errors before anything is written', async () => {
  const optionsFile = join(root, 'bad-opts.json');
  await writeFile(optionsFile, JSON.stringify({ dump: { Item: { splitz: 2 } } }));
  await assert.rejects(dump(...base({ name: 'never', optionsFile })), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && err.file === optionsFile);
  await assert.rejects(dump(...base({ name: 'never', splits: 'x' })), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /"x"/.test(err.message));
  await assert.rejects(stat(join(root, 'never')), { code: 'ENOENT' });
});

test('a complete dump is never overwritten without force; force replaces it', async () => {
  await dump(...base({ name: 'keep', kinds: 'Small' }));
  await assert.rejects(dump(...base({ name: 'keep', kinds: 'Small' })), (err) => isDspipeError(err, 'DSPIPE_DUMP_EXISTS') && /--force/.test(err.hint ?? ''));
  const namespaces = namespacesToName(['..']);
  const summary = await dump(...base({ name: 'keep', kinds: 'Order', force: true, ...(namespaces && { namespaces }) }));
  assert.deepEqual(summary.kinds.map((k) => k.kind), ['Order']);
  assert.deepEqual(await listFiles(join(root, 'keep')), ['%2e%2e/Order.ndjson.zst', 'dump.log', 'manifest.json'].sort());
});

test('an interrupted dump resumes to the same manifest as an uninterrupted one', async () => {
  const controller = new AbortController();
  let done = 0;
  await assert.rejects(
    dump(...base({ name: 'cut', concurrency: 1, signal: controller.signal, onEvent: (e) => e.type === 'kind-done' && ++done === 3 && controller.abort() })),
  );
  const partial = await readManifest(join(root, 'cut'));
  assert.equal(partial.complete, false);
  const completed = partial.kinds.filter((k) => k.complete).length;
  assert.ok(completed >= 3 && completed < partial.kinds.length, `completed ${completed}`);
  await assert.rejects(dump(...base({ name: 'cut' })), (err) => isDspipeError(err, 'DSPIPE_DUMP_EXISTS') && /--resume/.test(err.hint ?? ''));
  const summary = await dump(...base({ name: 'cut', resume: true }));
  assert.equal(summary.kinds.filter((k) => k.resumed).length, completed);
  const resumed = await readManifest(join(root, 'cut'));
  assert.equal(resumed.readTime, partial.readTime, 'the resumed part reads the same snapshot');
  assert.deepEqual(timeless(resumed), timeless(await readManifest(join(root, 'full'))));
  assert.deepEqual((await listFiles(join(root, 'cut'))).filter((f) => f.endsWith('.tmp')), []);
});

test('resuming a dump whose read time Datastore no longer serves is refused up front', async () => {
  const dir = join(root, 'stale');
  await dump(...base({ name: 'stale', kinds: 'Small' }));
  const m = await readManifest(dir);
  const stale = { ...m, complete: false, readTime: new Date(Date.now() - 2 * 3600_000).toISOString().replace('Z', '123Z') };
  await writeFile(join(dir, 'manifest.json'), formatManifest(stale));
  await assert.rejects(dump(...base({ name: 'stale', kinds: 'Small', resume: true })), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /more than an hour old/.test(err.message) && /--force/.test(err.hint ?? ''));
});

test('out "-" streams every kind as one NDJSON stream', async () => {
  const chunks: Buffer[] = [];
  const output = new Writable({ write: (c, _e, cb) => (chunks.push(c), cb()) });
  const summary = await dump(...base({ out: '-', output, namespaces: '(default)', kinds: 'Item,Small' }));
  const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
  assert.deepEqual(lines, [...expected.get('\0Item')!, ...expected.get('\0Small')!]);
  assert.equal(summary.dir, null);
  assert.equal(summary.entities, lines.length);
  await assert.rejects(stat(join(root, summary.name)), { code: 'ENOENT' });
  const zstd: Buffer[] = [];
  await dump(...base({ out: '-', compress: 'zstd', output: new Writable({ write: (c, _e, cb) => (zstd.push(c), cb()) }), namespaces: '(default)', kinds: 'Small' }));
  assert.deepEqual((await decompress(Buffer.concat(zstd))).toString('utf8').trimEnd().split('\n'), expected.get('\0Small'));
});

test('a dump during concurrent writes equals the data at its read time', async () => {
  // On dspipe's emulator 3 ms per RPC widens the window; on Google's, more data does.
  const busy: Pick<TestBackend, 'connection' | 'client' | 'close'> = traits.dspipeEmulator ? await startTestEmulator({ latencyMs: 3 }) : await t.fresh();
  const seed = seedTarget(busy);
  try {
    const seeded = await seedKind(seed, '', 'Hot', traits.dspipeEmulator ? 600 : 2000);
    const touched = new Map(seeded.map((e) => [JSON.stringify(e.key), e.key!]));
    let stop = false;
    let writes = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const fresh = sampleEntity(seed, '', 'Hot', 10_000 + i);
        const changed = { ...seeded[(i * 7) % seeded.length]!, properties: { v: { integerValue: String(i) } } };
        touched.set(JSON.stringify(fresh.key), fresh.key!);
        await put(seed, [fresh, changed]);
        await busy.client.commit({ projectId: busy.connection.projectId, mode: 'NON_TRANSACTIONAL', mutations: [{ delete: seeded[(i * 13 + 5) % seeded.length]!.key }] });
        writes++;
      }
    })();
    while (writes < 3) await new Promise((r) => setTimeout(r, 5));
    const before = writes;
    const events: DumpEvent[] = [];
    await dump({ root, name: 'hot', splits: 3, pageSize: 50 }, { connection: { emulatorHost: busy.connection.emulatorHost!, projectId: busy.connection.projectId }, onEvent: (e) => events.push(e) });
    stop = true;
    await writer;
    assert.ok(writes > before + 2, `writes went on during the dump (${before} -> ${writes})`);
    const m = await readManifest(join(root, 'hot'));
    if (!traits.readTimes) {
      // No read times: the dump cannot hold one snapshot, and says so once and in its manifest.
      assert.equal(m.readTime, null);
      assert.equal(m.snapshot, false);
      assert.match(m.snapshotReason ?? '', /no read time/);
      assert.equal(events.filter((e) => e.type === 'warning' && /snapshot/.test(e.message)).length, 1, JSON.stringify(events.filter((e) => e.type === 'warning')));
      return;
    }
    const keys = [...touched.values()].sort(compareKeys);
    const readTime = { seconds: String(Math.floor(Date.parse(m.readTime!) / 1000)), nanos: Number(m.readTime!.slice(20, 26)) * 1000 };
    const found: IEntity[] = [];
    for (let i = 0; i < keys.length; i += 1000) {
      const [res] = (await busy.client.lookup({ projectId: busy.connection.projectId, keys: keys.slice(i, i + 1000), readOptions: { readTime } })) as [{ found?: Array<{ entity: IEntity }> }];
      found.push(...(res.found ?? []).map((f) => f.entity));
    }
    const atReadTime = found.sort((a, b) => compareKeys(a.key!, b.key!)).map(encodeEntity);
    assert.deepEqual(await kindLines(join(root, 'hot'), m.kinds[0]!.file), atReadTime);
  } finally {
    await busy.close();
  }
});

test('injected transient faults (10%, seeded) still give an identical dump', dspipeOnly('needs dspipe emulator fault injection'), async () => {
  const faulty = await startTestEmulator({ projectId: t.connection.projectId, faults: { rate: 0.1, seed: 42 } });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await seedAll(faulty);
        break;
      } catch (err) {
        if (attempt > 100) throw err;
      }
    }
    const summary = await dump({ root, name: 'faulty', splits: 2, pageSize: 60 }, {
      connection: { emulatorHost: faulty.connection.emulatorHost!, projectId: faulty.connection.projectId },
      retry: { initialDelayMs: 1, maxDelayMs: 10, maxAttempts: 30 },
    });
    assert.ok(summary.retries > 0, 'faults were met and retried');
    assert.deepEqual(timeless(await readManifest(join(root, 'faulty'))), timeless(await readManifest(join(root, 'full'))));
  } finally {
    await faulty.close();
  }
});
