import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestEmulator, withEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, commit, entity, int, key, lookup, rejectsWith } from './conformance.js';
import type { IMutation } from '../../src/model/proto.js';

describe('emulator transactions', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
  });
  after(() => t.close());

  const begin = async (transactionOptions: Record<string, unknown> = { readWrite: {} }) =>
    (await t.client.beginTransaction({ projectId: t.connection.projectId, transactionOptions }, NO_RETRY))[0].transaction!;
  const commitTx = async (transaction: Uint8Array | string, mutations: IMutation[]) =>
    (await t.client.commit({ projectId: t.connection.projectId, mode: 'TRANSACTIONAL', transaction, mutations }, NO_RETRY))[0];
  const runQuery = async (kind: string, readOptions?: Record<string, unknown>) =>
    (
      await t.client.runQuery(
        { projectId: t.connection.projectId, query: { kind: [{ name: kind }] }, ...(readOptions ? { readOptions } : {}) },
        NO_RETRY,
      )
    )[0];

  it('commits a read-write transaction and ends it', async () => {
    await commit(t, [{ upsert: entity(key('Acct', 'a'), { n: int(1) }) }]);
    const tx = await begin();
    const read = await lookup(t, [key('Acct', 'a')], { transaction: tx });
    assert.equal(read.found!.length, 1);
    const r = await commitTx(tx, [{ upsert: entity(key('Acct', 'a'), { n: int(2) }) }]);
    assert.ok(r.commitTime);
    await rejectsWith(commitTx(tx, []), Code.INVALID_ARGUMENT, /expired or is no longer valid/);
  });

  it('aborts a transaction whose read entity changed before its commit (serializable)', async () => {
    await commit(t, [{ upsert: entity(key('Acct', 'b'), { n: int(1) }) }]);
    const tx1 = await begin();
    const tx2 = await begin();
    await lookup(t, [key('Acct', 'b')], { transaction: tx1 });
    await lookup(t, [key('Acct', 'b')], { transaction: tx2 });
    await commitTx(tx1, [{ upsert: entity(key('Acct', 'b'), { n: int(2) }) }]);
    await rejectsWith(commitTx(tx2, [{ upsert: entity(key('Acct', 'b'), { n: int(3) }) }]), Code.ABORTED, /contention/);
    assert.equal((await lookup(t, [key('Acct', 'b')])).found![0]!.entity!.properties!.n!.integerValue, '2');
    await rejectsWith(commitTx(tx2, []), Code.INVALID_ARGUMENT, /expired or is no longer valid/);
  });

  it('aborts when an entity read as missing is created meanwhile, and when a queried kind changes', async () => {
    const tx = await begin();
    await lookup(t, [key('Acct', 'new')], { transaction: tx });
    await commit(t, [{ insert: entity(key('Acct', 'new'), {}) }]);
    await rejectsWith(commitTx(tx, [{ upsert: entity(key('Acct', 'new'), { n: int(1) }) }]), Code.ABORTED);

    const tq = await begin();
    const batch = (await runQuery('Queried', { transaction: tq })).batch!;
    assert.equal(batch.entityResults!.length, 0);
    await commit(t, [{ insert: entity(key('Queried', 1), {}) }]);
    await rejectsWith(commitTx(tq, [{ upsert: entity(key('Summary', 1), { count: int(0) }) }]), Code.ABORTED);
  });

  it('does not abort for writes to data the transaction did not read', async () => {
    await commit(t, [{ upsert: entity(key('Acct', 'c'), {}) }]);
    const tx = await begin();
    await lookup(t, [key('Acct', 'c')], { transaction: tx });
    await commit(t, [{ upsert: entity(key('Acct', 'unrelated'), {}) }]);
    await commitTx(tx, [{ upsert: entity(key('Acct', 'c'), { n: int(5) }) }]);
  });

  it('starts a transaction from read options (new_transaction) and returns its id', async () => {
    await commit(t, [{ upsert: entity(key('Acct', 'd'), { n: int(1) }) }]);
    const r = await lookup(t, [key('Acct', 'd')], { newTransaction: { readWrite: {} } });
    assert.ok(r.transaction && r.transaction.length > 0);
    await commit(t, [{ upsert: entity(key('Acct', 'd'), { n: int(2) }) }]);
    await rejectsWith(commitTx(r.transaction!, [{ upsert: entity(key('Acct', 'd'), { n: int(3) }) }]), Code.ABORTED);
    const q = await runQuery('Acct', { newTransaction: { readWrite: {} } });
    assert.ok(q.transaction && q.transaction.length > 0);
    await commitTx(q.transaction!, []);
  });

  it('read-only transactions read one snapshot and refuse mutations', async () => {
    await commit(t, [{ upsert: entity(key('RO', 1), { n: int(1) }) }]);
    const tx = await begin({ readOnly: {} });
    await commit(t, [{ upsert: entity(key('RO', 1), { n: int(2) }) }, { upsert: entity(key('RO', 2), {}) }]);
    const r = await lookup(t, [key('RO', 1), key('RO', 2)], { transaction: tx });
    assert.equal(r.found!.length, 1);
    assert.equal(r.found![0]!.entity!.properties!.n!.integerValue, '1', 'the snapshot is from the begin time');
    assert.equal((await runQuery('RO', { transaction: tx })).batch!.entityResults!.length, 1);
    await rejectsWith(commitTx(tx, [{ upsert: entity(key('RO', 3), {}) }]), Code.INVALID_ARGUMENT, /read-only transaction/);
    const empty = await begin({ readOnly: {} });
    await commitTx(empty, []);
  });

  it('rolls back: the id is then invalid; unknown ids are INVALID_ARGUMENT', async () => {
    const tx = await begin();
    await t.client.rollback({ projectId: t.connection.projectId, transaction: tx }, NO_RETRY);
    await rejectsWith(commitTx(tx, [{ upsert: entity(key('Acct', 'rb'), {}) }]), Code.INVALID_ARGUMENT, /expired or is no longer valid/);
    assert.equal((await lookup(t, [key('Acct', 'rb')])).missing!.length, 1);
    await rejectsWith(
      t.client.rollback({ projectId: t.connection.projectId, transaction: Buffer.from('not-a-transaction') }, NO_RETRY),
      Code.INVALID_ARGUMENT,
    );
    await rejectsWith(lookup(t, [key('Acct', 'a')], { transaction: Buffer.from('nope') }), Code.INVALID_ARGUMENT);
  });

  it('runs through the high-level client, including a conflicting transaction', async () => {
    const ds = t.datastore;
    const k = ds.key(['Counter', 'c']);
    await ds.save({ key: k, data: { n: 1 } });
    const tx = ds.transaction();
    await tx.run();
    const [current] = await tx.get(k);
    tx.save({ key: k, data: { n: current.n + 1 } });
    await tx.commit();
    const [after1] = await ds.get(k);
    assert.equal(after1.n, 2);

    const slow = ds.transaction();
    await slow.run();
    await slow.get(k);
    await ds.save({ key: k, data: { n: 100 } });
    slow.save({ key: k, data: { n: -1 } });
    await assert.rejects(slow.commit(), (e: { code?: number }) => e.code === Code.ABORTED);
    const [final] = await ds.get(k);
    assert.equal(final.n, 100);
  });
});

describe('emulator transaction expiry', () => {
  it('expires transactions after their lifetime', async () => {
    await withEmulator(
      async (t) => {
        const [{ transaction }] = await t.client.beginTransaction({ projectId: t.connection.projectId }, NO_RETRY);
        await sleep(300);
        await rejectsWith(
          lookup(t, [key('K', 1)], { transaction: transaction! }),
          Code.INVALID_ARGUMENT,
          /expired or is no longer valid/,
        );
      },
      { transactionTimeoutMs: 200 },
    );
  });
});
