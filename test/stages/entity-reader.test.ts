import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createEntityReader, ReadAheadBudget } from '../../src/stages/entity-reader.js';
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
  const budget = new ReadAheadBudget(200);
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
  assert.ok(budget.peak <= 200, `peak ${budget.peak} over the limit`);
  assert.ok(most >= 100, `the ranges read ahead into the budget (at most ${most} held)`);
  assert.equal(budget.inUse, 0, 'everything taken was given back');
});

test('a budget smaller than a page still reads everything, one page ahead at a time', async () => {
  const expected = (await readAll()).out.map((r) => encodeEntity(r.entity!));
  const budget = new ReadAheadBudget(10);
  const out = (await readAll({ splits: 3, pageSize: 50, budget })).out.map((r) => encodeEntity(r.entity!));
  assert.ok(out.length === expected.length && out.every((l, i) => l === expected[i]), 'same lines in the same order');
  assert.ok(budget.peak <= 50, `peak ${budget.peak}`);
  assert.equal(budget.inUse, 0);
});

test('a destroyed reader gives back what its ranges took from the budget', async () => {
  const budget = new ReadAheadBudget(300);
  const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'Item', splits: 4, pageSize: 50, budget });
  reader.once('readable', () => {});
  await sleep(200);
  assert.ok(budget.inUse > 0, 'ranges not being read took from the budget');
  reader.destroy();
  await sleep(50);
  assert.equal(budget.inUse, 0);
});
