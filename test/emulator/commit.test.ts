import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, commit, entity, int, key, lookup, rejectsWith, str } from './conformance.js';

describe('emulator Commit', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
  });
  after(() => t.close());

  it('inserts, allocating an id for an incomplete key, and reports one result per mutation in order', async () => {
    const r = await commit(t, [
      { insert: entity(key('Task', 'a'), { n: int(1) }) },
      { insert: entity(key('Task'), { n: int(2) }) },
    ]);
    assert.equal(r.mutationResults!.length, 2);
    assert.equal(r.mutationResults![0]!.key, null, 'no key for a complete key');
    const allocated = r.mutationResults![1]!.key!;
    assert.equal(allocated.path![0]!.kind, 'Task');
    assert.match(String(allocated.path![0]!.id), /^[1-9]\d*$/);
    assert.deepEqual(
      { ...allocated.partitionId },
      { projectId: t.connection.projectId, databaseId: '', namespaceId: '' },
    );
    for (const m of r.mutationResults!) {
      assert.match(String(m.version), /^\d+$/);
      assert.ok(m.createTime && m.updateTime);
      assert.equal(m.conflictDetected, false);
    }
    assert.equal(r.commitTime, null, 'non-transactional commits carry no commit time');
    assert.ok(Number(r.indexUpdates) > 0);
    const found = await lookup(t, [key('Task', 'a'), allocated]);
    assert.equal(found.found!.length, 2);
  });

  it('insert of an existing entity is ALREADY_EXISTS and applies nothing of the commit', async () => {
    await commit(t, [{ insert: entity(key('Task', 'dup'), { n: int(1) }) }]);
    await rejectsWith(
      commit(t, [{ upsert: entity(key('Task', 'other'), {}) }, { insert: entity(key('Task', 'dup'), { n: int(2) }) }]),
      Code.ALREADY_EXISTS,
      /already exists/,
    );
    const r = await lookup(t, [key('Task', 'other'), key('Task', 'dup')]);
    assert.equal(r.missing!.length, 1, 'the upsert in the failed commit was not applied');
    assert.equal(r.found![0]!.entity!.properties!.n!.integerValue, '1');
  });

  it('update of a missing entity is NOT_FOUND; update of an existing one replaces it and keeps create_time', async () => {
    await rejectsWith(commit(t, [{ update: entity(key('Task', 'nope'), {}) }]), Code.NOT_FOUND, /no entity to update/);
    const first = await commit(t, [{ upsert: entity(key('Task', 'u'), { a: int(1), b: int(2) }) }]);
    const second = await commit(t, [{ update: entity(key('Task', 'u'), { a: int(3) }) }]);
    const r1 = first.mutationResults![0]!;
    const r2 = second.mutationResults![0]!;
    assert.ok(BigInt(String(r2.version)) > BigInt(String(r1.version)), 'versions increase');
    assert.deepEqual(r2.createTime, r1.createTime);
    const got = (await lookup(t, [key('Task', 'u')])).found![0]!;
    assert.deepEqual(Object.keys(got.entity!.properties!), ['a']);
    assert.equal(got.version, r2.version);
    assert.deepEqual(got.updateTime, r2.updateTime);
  });

  it('upsert creates or replaces; delete removes and a missing delete is fine', async () => {
    await commit(t, [{ upsert: entity(key('Task', 'x'), { s: str('one') }) }]);
    await commit(t, [{ upsert: entity(key('Task', 'x'), { s: str('two') }) }]);
    assert.equal((await lookup(t, [key('Task', 'x')])).found![0]!.entity!.properties!.s!.stringValue, 'two');
    const del = await commit(t, [{ delete: key('Task', 'x') }, { delete: key('Task', 'never-there') }]);
    assert.equal(del.mutationResults!.length, 2);
    assert.equal(del.mutationResults![0]!.createTime, null, 'no times after a delete');
    assert.match(String(del.mutationResults![1]!.version), /^\d+$/);
    assert.equal((await lookup(t, [key('Task', 'x')])).missing!.length, 1);
  });

  it('refuses the same key twice in a non-transactional commit', async () => {
    await rejectsWith(
      commit(t, [{ upsert: entity(key('Task', 'twice'), {}) }, { delete: key('Task', 'twice') }]),
      Code.INVALID_ARGUMENT,
      /multiple mutations affecting the same entity/,
    );
    assert.equal((await lookup(t, [key('Task', 'twice')])).missing!.length, 1);
  });

  it('detects conflicts with base_version and update_time and does not apply the mutation', async () => {
    const created = (await commit(t, [{ upsert: entity(key('Task', 'cd'), { n: int(1) }) }])).mutationResults![0]!;
    const stale = await commit(t, [
      { upsert: entity(key('Task', 'cd'), { n: int(2) }), baseVersion: String(BigInt(String(created.version)) - 1n) },
    ]);
    assert.equal(stale.mutationResults![0]!.conflictDetected, true);
    assert.equal(stale.mutationResults![0]!.version, created.version, 'the server version is reported');
    const ok = await commit(t, [{ upsert: entity(key('Task', 'cd'), { n: int(3) }), baseVersion: created.version }]);
    assert.equal(ok.mutationResults![0]!.conflictDetected, false);
    const byTime = await commit(t, [{ update: entity(key('Task', 'cd'), { n: int(4) }), updateTime: created.updateTime }]);
    assert.equal(byTime.mutationResults![0]!.conflictDetected, true, 'update_time changed since');
    const current = ok.mutationResults![0]!;
    const byTime2 = await commit(t, [{ update: entity(key('Task', 'cd'), { n: int(5) }), updateTime: current.updateTime }]);
    assert.equal(byTime2.mutationResults![0]!.conflictDetected, false);
    assert.equal((await lookup(t, [key('Task', 'cd')])).found![0]!.entity!.properties!.n!.integerValue, '5');
    // base_version 0 means "must not exist yet".
    const fresh = await commit(t, [{ insert: entity(key('Task', 'cd-new'), {}), baseVersion: '0' }]);
    assert.equal(fresh.mutationResults![0]!.conflictDetected, false);
    await rejectsWith(
      commit(t, [{ upsert: entity(key('Task', 'cd'), {}), baseVersion: '1', conflictResolutionStrategy: 'FAIL' }]),
      Code.FAILED_PRECONDITION,
    );
  });

  it('TRANSACTIONAL commits need a transaction; single_use_transaction works and returns commit_time', async () => {
    await rejectsWith(
      t.client.commit({ projectId: t.connection.projectId, mode: 'TRANSACTIONAL', mutations: [] }, NO_RETRY),
      Code.INVALID_ARGUMENT,
      /transaction required/,
    );
    const [r] = await t.client.commit(
      {
        projectId: t.connection.projectId,
        mode: 'TRANSACTIONAL',
        singleUseTransaction: { readWrite: {} },
        mutations: [{ upsert: entity(key('Task', 'su'), {}) }, { delete: key('Task', 'su') }, { insert: entity(key('Task', 'su'), { n: int(9) }) }],
      },
      NO_RETRY,
    );
    assert.ok(r.commitTime, 'transactional commits report commit_time');
    assert.equal(r.mutationResults!.length, 3);
    assert.equal((await lookup(t, [key('Task', 'su')])).found![0]!.entity!.properties!.n!.integerValue, '9');
  });

  it('applies Datastore rules for repeated keys inside a transaction', async () => {
    const begin = async () => (await t.client.beginTransaction({ projectId: t.connection.projectId }, NO_RETRY))[0].transaction!;
    for (const [first, second] of [
      ['insert', 'insert'],
      ['update', 'insert'],
      ['upsert', 'insert'],
      ['delete', 'update'],
    ] as const) {
      await commit(t, [{ upsert: entity(key('Seq', 'k'), {}) }]);
      const m = (op: string) => (op === 'delete' ? { delete: key('Seq', 'k') } : { [op]: entity(key('Seq', 'k'), {}) });
      await rejectsWith(
        t.client.commit({ projectId: t.connection.projectId, mode: 'TRANSACTIONAL', transaction: await begin(), mutations: [m(first), m(second)] }, NO_RETRY),
        Code.INVALID_ARGUMENT,
        new RegExp(`${first} followed by ${second}`),
      );
    }
  });

  it('applies property masks and property transforms', async () => {
    await commit(t, [{ upsert: entity(key('Mask', 1), { a: int(1), b: int(2), c: int(3) }) }]);
    await commit(t, [{ upsert: entity(key('Mask', 1), { a: int(10) }), propertyMask: { paths: ['a', 'b'] } }]);
    const props = (await lookup(t, [key('Mask', 1)])).found![0]!.entity!.properties!;
    assert.deepEqual(Object.keys(props).sort(), ['a', 'c']);
    assert.equal(props.a!.integerValue, '10');
    const r = await commit(t, [
      {
        update: entity(key('Mask', 1), { a: int(10), c: int(3) }),
        propertyTransforms: [
          { property: 'a', increment: int(5) },
          { property: 'c', maximum: { doubleValue: 7.5 } },
          { property: 'tags', appendMissingElements: { values: [str('x'), str('y')] } },
          { property: 'at', setToServerValue: 'REQUEST_TIME' },
        ],
      },
    ]);
    const results = r.mutationResults![0]!.transformResults!;
    assert.equal(results.length, 4);
    assert.equal(results[0]!.integerValue, '15');
    assert.equal(results[1]!.doubleValue, 7.5);
    const after = (await lookup(t, [key('Mask', 1)])).found![0]!.entity!.properties!;
    assert.equal(after.a!.integerValue, '15');
    assert.equal(after.c!.doubleValue, 7.5);
    assert.deepEqual(after.tags!.arrayValue!.values!.map((v: { stringValue?: string | null }) => v.stringValue), ['x', 'y']);
    assert.ok(after.at!.timestampValue);
  });

  it('works through the high-level client: save, get, delete, insert conflict', async () => {
    const ds = t.datastore;
    const k = ds.key(['Hi', 'one']);
    await ds.save({ key: k, data: { n: 1, s: 'x' } });
    const [got] = await ds.get(k);
    assert.equal(got.s, 'x');
    await assert.rejects(ds.insert({ key: k, data: { n: 2 } }), (e: { code?: number }) => e.code === Code.ALREADY_EXISTS);
    await assert.rejects(ds.update({ key: ds.key(['Hi', 'none']), data: { n: 2 } }), (e: { code?: number }) => e.code === Code.NOT_FOUND);
    const inc = ds.key(['Hi']);
    await ds.save({ key: inc, data: { n: 3 } });
    assert.ok(inc.id !== undefined, 'the client learns the allocated id');
    await ds.delete(k);
    const [gone] = await ds.get(k);
    assert.equal(gone, undefined);
  });

  it('index_updates counts the entries an overwrite removes and writes, also for an entity read back from dataDir', async () => {
    // 1 for the key, 2 per indexed value (ascending and descending), array elements each; excluded values none
    const big = entity(key('Idx', 'e'), { a: int(1), b: str('x', true), c: { arrayValue: { values: [int(1), int(2)] } } });
    const small = entity(key('Idx', 'e'), { a: int(2) });
    const updates = async (x: TestEmulator, e: typeof big) => Number((await commit(x, [{ upsert: e }])).indexUpdates);
    const dir = await mkdtemp(join(tmpdir(), 'dspipe-index-updates-'));
    let x: TestEmulator | undefined;
    try {
      x = await startTestEmulator({ dataDir: dir });
      assert.equal(await updates(x, big), 7, 'a new entity: its own entries');
      assert.equal(await updates(x, small), 7 + 3, 'an overwrite: the old entries removed, the new written');
      assert.equal(await updates(x, big), 3 + 7);
      await x.close();
      // after a restart the stored entity's count is not known from its write: it is counted from its properties
      x = await startTestEmulator({ dataDir: dir });
      assert.equal(await updates(x, small), 7 + 3);
    } finally {
      await x?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
