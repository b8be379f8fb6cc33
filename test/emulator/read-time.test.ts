import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestEmulator, withEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, commit, entity, int, key, lookup, rejectsWith } from './conformance.js';

describe('emulator read_time (point-in-time reads)', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
  });
  after(() => t.close());

  const count = async (kind: string, readTime?: unknown) => {
    const [r] = await t.client.runQuery(
      { projectId: t.connection.projectId, query: { kind: [{ name: kind }] }, ...(readTime ? { readOptions: { readTime } } : {}) },
      NO_RETRY,
    );
    return r.batch!.entityResults!.length;
  };

  it('Lookup, RunQuery and RunAggregationQuery see the data as of read_time', async () => {
    await commit(t, [{ upsert: entity(key('PIT', 1), { n: int(1) }) }]);
    const t1 = (await lookup(t, [key('PIT', 1)])).readTime!;
    await commit(t, [{ upsert: entity(key('PIT', 1), { n: int(2) }) }, { upsert: entity(key('PIT', 2), {}) }]);
    const t2 = (await lookup(t, [key('PIT', 1)])).readTime!;
    await commit(t, [{ delete: key('PIT', 1) }, { delete: key('PIT', 2) }]);

    const at1 = await lookup(t, [key('PIT', 1), key('PIT', 2)], { readTime: t1 });
    assert.equal(at1.found!.length, 1);
    assert.equal(at1.found![0]!.entity!.properties!.n!.integerValue, '1');
    assert.deepEqual(at1.readTime, t1, 'the response names the read time used');
    const at2 = await lookup(t, [key('PIT', 1), key('PIT', 2)], { readTime: t2 });
    assert.equal(at2.found!.length, 2);
    assert.equal(at2.found!.find((f: { entity?: { key?: { path?: { id?: unknown }[] } } }) => f.entity!.key!.path![0]!.id === '1')!.entity!.properties!.n!.integerValue, '2');
    assert.equal((await lookup(t, [key('PIT', 1)])).missing!.length, 1, 'now it is deleted');

    assert.equal(await count('PIT', t1), 1);
    assert.equal(await count('PIT', t2), 2);
    assert.equal(await count('PIT'), 0);

    const [agg] = await t.client.runAggregationQuery(
      {
        projectId: t.connection.projectId,
        readOptions: { readTime: t2 },
        aggregationQuery: { nestedQuery: { kind: [{ name: 'PIT' }] }, aggregations: [{ alias: 'n', count: {} }] },
      },
      NO_RETRY,
    );
    assert.equal(agg.batch!.aggregationResults![0]!.aggregateProperties!.n!.integerValue, '2');
    assert.deepEqual(agg.batch!.readTime, t2);
  });

  it('refuses a read_time in the future', async () => {
    const future = { seconds: String(Math.floor(Date.now() / 1000) + 3600), nanos: 0 };
    await rejectsWith(lookup(t, [key('PIT', 1)], { readTime: future }), Code.INVALID_ARGUMENT, /cannot be in the future/);
  });

  it('refuses a read_time older than the retention window', async () => {
    const old = { seconds: String(Math.floor(Date.now() / 1000) - 2 * 3600), nanos: 0 };
    await rejectsWith(lookup(t, [key('PIT', 1)], { readTime: old }), Code.FAILED_PRECONDITION, /snapshot version is too old/);
  });

  it('keeps versions for the retention window and drops them afterwards', async () => {
    await withEmulator(
      async (e) => {
        await commit(e, [{ upsert: entity(key('GC', 1), { n: int(1) }) }]);
        const before = (await lookup(e, [key('GC', 1)])).readTime!;
        await commit(e, [{ upsert: entity(key('GC', 1), { n: int(2) }) }]);
        assert.equal((await lookup(e, [key('GC', 1)], { readTime: before })).found![0]!.entity!.properties!.n!.integerValue, '1');
        await sleep(400);
        await rejectsWith(lookup(e, [key('GC', 1)], { readTime: before }), Code.FAILED_PRECONDITION, /too old/);
        await commit(e, [{ delete: key('GC', 1) }]);
        assert.equal((await lookup(e, [key('GC', 1)])).missing!.length, 1);
      },
      { retentionMs: 300 },
    );
  });

  it('reads a read-only transaction at its read_time', async () => {
    await commit(t, [{ upsert: entity(key('ROT', 1), { n: int(1) }) }]);
    const readTime = (await lookup(t, [key('ROT', 1)])).readTime!;
    await commit(t, [{ upsert: entity(key('ROT', 1), { n: int(2) }) }]);
    const [{ transaction }] = await t.client.beginTransaction(
      { projectId: t.connection.projectId, transactionOptions: { readOnly: { readTime } } },
      NO_RETRY,
    );
    const r = await lookup(t, [key('ROT', 1)], { transaction: transaction! });
    assert.equal(r.found![0]!.entity!.properties!.n!.integerValue, '1');
  });
});
