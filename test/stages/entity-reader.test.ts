import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createEntityReader, OBJECT_ENTITY_BYTES, ReadAheadBudget, StreamPool } from '../../src/stages/entity-reader.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';
import { isLinesPage, wirePageFetcher } from '../../src/datastore/raw-run-query.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { compareKeys } from '../../src/model/key-order.js';
import { serverReadTime } from '../../src/datastore/run-query.js';
import type { IEntityResult } from '../../src/model/proto.js';
import { lookupAll, seedKind, put, sampleEntity } from './seed.js';

let t: TestEmulator;
let lines: string[];
const N = 1500;

before(async () => {
  t = await startTestEmulator();
  const seeded = await seedKind(t, '', 'Item', N);
  await seedKind(t, '', 'Other', 10);
  const sorted = [...seeded].sort((a, b) => compareKeys(a.key!, b.key!));
  lines = (await lookupAll(t, sorted.map((e) => e.key!))).map(encodeEntity);
});
after(() => t.close());

async function readAll(options: Partial<Parameters<typeof createEntityReader>[2]> = {}, client = t.client) {
  const reader = createEntityReader(client, t.connection, { namespace: '', kind: 'Item', ...options });
  const out: IEntityResult[] = [];
  for await (const r of reader) out.push(r as IEntityResult);
  return { reader, out };
}

test('reads a whole kind in key order with exactly what Lookup returns', async () => {
  const { reader, out } = await readAll();
  assert.equal(out.length, N);
  assert.deepEqual(out.map((r) => encodeEntity(r.entity!)), lines);
  assert.ok(out[0]!.version && out[0]!.cursor, 'raw EntityResults with version and cursor');
  assert.equal(reader.results, N);
  assert.equal(reader.ranges, 1);
  assert.ok(reader.pages >= Math.ceil(N / 300));
});

test('splits and small pages give the same sequence', async () => {
  for (const options of [{ splits: 4 }, { splits: 7, pageSize: 50 }, { splits: 64 }, { pageSize: 1 }]) {
    const { reader, out } = await readAll(options);
    assert.deepEqual(out.map((r) => encodeEntity(r.entity!)), lines, JSON.stringify(options));
    if ((options.splits ?? 1) > 1) assert.ok(reader.ranges > 1, `ranges ${reader.ranges}`);
  }
});

test('keys only', async () => {
  const { out } = await readAll({ keysOnly: true, splits: 2 });
  assert.equal(out.length, N);
  assert.deepEqual(out[0]!.entity!.properties, {});
});

test('a read time pins the snapshot while writes go on', async () => {
  const readTime = await serverReadTime(t.client, t.connection);
  await put(t, [sampleEntity(t, '', 'Item', N + 1)]);
  const { out } = await readAll({ readTime, splits: 3 });
  assert.deepEqual(out.map((r) => encodeEntity(r.entity!)), lines);
  const { out: now } = await readAll();
  assert.equal(now.length, N + 1);
});

test('transient faults are retried from the last cursor: nothing lost or doubled', async () => {
  const faulty = await startTestEmulator({ faults: { rate: 0.3, seed: 7 } });
  try {
    await seedKindWithRetries(faulty);
    let retries = 0;
    const injected = () => [...faulty.emulator.faultsInjected().values()].reduce((a, b) => a + b, 0);
    const before = injected();
    const reader = createEntityReader(faulty.client, faulty.connection, {
      namespace: '', kind: 'Item', splits: 3, pageSize: 100,
      retry: { maxAttempts: 20, initialDelayMs: 1, maxDelayMs: 5, multiplier: 2 },
      onRetry: () => retries++,
    });
    const out: string[] = [];
    for await (const r of reader) out.push(encodeEntity((r as IEntityResult).entity!));
    assert.equal(out.length, 400);
    assert.equal(new Set(out).size, 400);
    assert.ok(retries > 0 && reader.retries === retries, `retries ${retries}`);
    // Every injected fault reached our policy: google-gax retried none of them on its own.
    assert.equal(injected() - before, retries);
  } finally {
    await faulty.close();
  }
});

async function seedKindWithRetries(f: TestEmulator) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await seedKind(f, '', 'Item', 400);
    } catch (err) {
      if (attempt > 50) throw err;
    }
  }
}

test('a non-transient error fails the stream with the gRPC error', async () => {
  const reader = createEntityReader(t.client, { ...t.connection, projectId: '' }, { namespace: '', kind: 'Item' });
  await assert.rejects(pipeline(reader, new Writable({ objectMode: true, write: (_c, _e, cb) => cb() })), (err: { code?: number }) => err.code === 3);
});

test('backpressure: an unread reader stops fetching; destroy mid-stream ends cleanly', async () => {
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', pageSize: 50, splits: 2, readAheadPages: 2 });
  reader.once('readable', () => {});
  await sleep(300);
  // Two ranges x two pages ahead, plus what the stream buffer holds.
  assert.ok(reader.pages <= 2 * 2 + Math.ceil(512 / 50) + 2, `fetched ${reader.pages} pages while nobody read`);
  let closes = 0;
  reader.on('close', () => closes++);
  const errors: unknown[] = [];
  reader.on('error', (e) => errors.push(e));
  reader.destroy();
  await sleep(50);
  assert.equal(closes, 1);
  assert.deepEqual(errors, []);
});

test('events: data in order, one end, one close; pipeline resolves', async () => {
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Other' });
  const events: string[] = [];
  reader.on('end', () => events.push('end'));
  reader.on('close', () => events.push('close'));
  let n = 0;
  await pipeline(reader, new Writable({ objectMode: true, write: (_c, _e, cb) => (n++, cb()) }));
  assert.equal(n, 10);
  assert.deepEqual(events, ['end', 'close']);
});

test('a read-ahead budget shared by readers bounds what their ranges hold and never changes the output', async () => {
  // earlier tests wrote one more: what a single plain reader returns now is the reference
  const expected = (await readAll()).out.map((r) => encodeEntity(r.entity!));
  // object-path pages cost OBJECT_ENTITY_BYTES an entity
  const E = OBJECT_ENTITY_BYTES;
  const budget = new ReadAheadBudget(200 * E);
  let most = 0;
  const read = async () => {
    const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', splits: 4, pageSize: 50, readAheadPages: 3, budget });
    const out: string[] = [];
    for await (const r of reader) {
      out.push(encodeEntity((r as IEntityResult).entity!));
      most = Math.max(most, budget.inUse);
      // a slow consumer, so the ranges not being read fill what the budget allows
      if (out.length % 100 === 0) await sleep(5);
    }
    return { reader, out };
  };
  const [a, b] = await Promise.all([read(), read()]);
  assert.ok(a.out.length === expected.length && a.out.every((l, i) => l === expected[i]), 'first reader: same lines in the same order');
  assert.ok(b.out.length === expected.length && b.out.every((l, i) => l === expected[i]), 'second reader: same lines in the same order');
  assert.ok(a.reader.ranges > 1 && b.reader.ranges > 1);
  assert.ok(budget.peak <= 200 * E, `peak ${budget.peak / E} entities over the limit`);
  assert.ok(most >= 100 * E, `the ranges read ahead into the budget (at most ${most / E} entities held)`);
  assert.equal(budget.inUse, 0, 'everything taken was given back');
});

test('a budget smaller than a page still reads everything, one page ahead at a time', async () => {
  const expected = (await readAll()).out.map((r) => encodeEntity(r.entity!));
  const budget = new ReadAheadBudget(10 * OBJECT_ENTITY_BYTES);
  const out = (await readAll({ splits: 3, pageSize: 50, budget })).out.map((r) => encodeEntity(r.entity!));
  assert.ok(out.length === expected.length && out.every((l, i) => l === expected[i]), 'same lines in the same order');
  assert.ok(budget.peak <= 50 * OBJECT_ENTITY_BYTES, `peak ${budget.peak / OBJECT_ENTITY_BYTES} entities`);
  assert.equal(budget.inUse, 0);
});

test('a destroyed reader gives back what its ranges took from the budget', async () => {
  const budget = new ReadAheadBudget(300 * OBJECT_ENTITY_BYTES);
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', splits: 4, pageSize: 50, budget });
  reader.once('readable', () => {});
  await sleep(200);
  assert.ok(budget.inUse > 0, 'ranges not being read took from the budget');
  reader.destroy();
  await sleep(50);
  assert.equal(budget.inUse, 0);
});

test('more key ranges than streams: lowest ranges first, never more streams than splits, the same output', async () => {
  const expected = (await readAll()).out.map((r) => encodeEntity(r.entity!));
  const budget = new ReadAheadBudget(1 << 30);
  const { reader, out } = await readAll({ splits: 2, ranges: 12, pageSize: 50, budget });
  assert.ok(out.length === expected.length && out.every((r, i) => encodeEntity(r.entity!) === expected[i]), 'same lines in the same order');
  assert.ok(reader.ranges > 2, `cut into ${reader.ranges} ranges, more than the 2 streams`);
  assert.equal(reader.mostStreams, 2, 'two streams read at once, never more');
  assert.equal(budget.inUse, 0);
  // one stream: one range however many are asked for
  const one = await readAll({ splits: 1, ranges: 12 });
  assert.equal(one.reader.ranges, 1);
  assert.equal(one.reader.mostStreams, 1);
});

test('a stream pool: a reader alone grows into the spare streams; readers sharing it stay within it; the same output', async () => {
  const expected = (await readAll()).out.map((r) => encodeEntity(r.entity!));
  const same = (out: IEntityResult[]) => out.length === expected.length && out.every((r, i) => encodeEntity(r.entity!) === expected[i]);
  const budget = new ReadAheadBudget(1 << 30);
  // alone: its 2 own streams and 4 more, one range each at most
  const alone = new StreamPool(6);
  const a = await readAll({ splits: 2, ranges: 12, pageSize: 50, budget, pool: { streams: alone, maxSplits: 6 } });
  assert.ok(same(a.out), 'alone: same lines in the same order');
  assert.equal(a.reader.mostStreams, 6, 'the reader took every spare stream');
  assert.equal(alone.reading, 0, 'every stream given back');
  // a range count below maxSplits caps the streams at one a range
  const few = new StreamPool(16);
  const f = await readAll({ splits: 2, ranges: 3, pageSize: 50, budget, pool: { streams: few, maxSplits: 16 } });
  assert.ok(same(f.out));
  assert.equal(f.reader.mostStreams, f.reader.ranges, `${f.reader.ranges} ranges, as many streams`);
  // two readers at once on a pool of 6: each keeps its own 2; the spare ones are shared, never more than 6 + the 2 a late reader brings
  const shared = new StreamPool(6);
  const both = await Promise.all([0, 1].map(() => readAll({ splits: 2, ranges: 12, pageSize: 50, budget, pool: { streams: shared, maxSplits: 6 } })));
  for (const r of both) {
    assert.ok(same(r.out), 'shared: same lines in the same order');
    assert.ok(r.reader.mostStreams >= 2 && r.reader.mostStreams <= 6, `${r.reader.mostStreams} streams`);
  }
  assert.ok(shared.peak >= 6 && shared.peak <= 8, `at most ${shared.peak} streams at once`);
  assert.equal(shared.reading, 0);
  // without a pool: the splits, never more
  const none = await readAll({ splits: 2, ranges: 12, pageSize: 50, budget });
  assert.equal(none.reader.mostStreams, 2);
  assert.equal(budget.inUse, 0);
});

test('a destroyed reader gives its streams back to the pool', async () => {
  const pool = new StreamPool(8);
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', splits: 2, ranges: 12, pageSize: 50, budget: new ReadAheadBudget(100 * OBJECT_ENTITY_BYTES), pool: { streams: pool, maxSplits: 8 } });
  reader.once('readable', () => {});
  await sleep(200);
  assert.ok(pool.reading > 2, `${pool.reading} streams reading while nobody consumes`);
  reader.destroy();
  await sleep(50);
  assert.equal(pool.reading, 0);
});

test('with more ranges than streams, the streams ahead of a slow consumer keep reading into the budget', async () => {
  const E = OBJECT_ENTITY_BYTES;
  const budget = new ReadAheadBudget(600 * E);
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', splits: 3, ranges: 10, pageSize: 50, budget });
  reader.once('readable', () => {});
  await sleep(400);
  // nobody reads: the consumer's range holds readAheadPages (2) pages, the two streams ahead fill the budget
  assert.ok(budget.inUse > 2 * 2 * 50 * E, `the two ranges ahead read past two pages each (${budget.inUse / E} entities held)`);
  assert.ok(budget.peak <= 600 * E + 50 * E, `peak ${budget.peak / E} entities`);
  reader.destroy();
  await sleep(50);
  assert.equal(budget.inUse, 0);
});

test('wire pages cost their bytes of the budget', async () => {
  const transport = createRawTransport(t.client, t.connection)!;
  const fetchPage = wirePageFetcher(transport, t.connection);
  // earlier tests wrote more: a plain object-path read is the reference (the wire lines are byte-identical)
  const expected = (await readAll()).out.map((r) => encodeEntity(r.entity!) + '\n').join('');
  // about a third of the kind's dump lines; pages of 10 entities (~7 KB of lines, 80 KiB if counted as objects)
  const limit = Math.floor(Buffer.byteLength(expected) / 3);
  const budget = new ReadAheadBudget(limit);
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', splits: 4, ranges: 8, pageSize: 10, budget, fetchPage });
  const chunks: Buffer[] = [];
  let held = 0;
  for await (const page of reader) {
    assert.ok(isLinesPage(page));
    if (chunks.length === 0) {
      // a consumer that stops after its first page: the ranges ahead fill the budget
      await sleep(400);
      // fetched, less this page, the one in the stream's buffer and the 2 the consumer's range holds
      held = reader.pages - 1 - reader.readableLength - 2;
    }
    chunks.push(page.lines);
  }
  assert.equal(Buffer.concat(chunks).toString('utf8'), expected, 'the same lines in key order');
  const page = Math.max(...chunks.map((c) => c.length));
  // counted as objects the budget would hold 4 pages; counted in bytes, tens
  assert.ok(held > 12, `the ranges ahead held ${held} pages of ~${page} bytes in a budget of ${limit}`);
  assert.ok(budget.peak <= limit + 10 * OBJECT_ENTITY_BYTES, `peak ${budget.peak} bytes, limit ${limit}, first guess ${10 * OBJECT_ENTITY_BYTES}`);
  assert.equal(budget.inUse, 0);
});
