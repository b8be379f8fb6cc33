/**
 * The Datastore Admin API's index methods on dspipe's emulator, through the
 * official v1.DatastoreAdminClient (its long-running operations polled through
 * google.longrunning.Operations, as against production). What production
 * answers is documented in datastore_admin.proto: CREATING then READY,
 * ALREADY_EXISTS for an index that exists, no single-property indexes, delete
 * only from READY or ERROR.
 *
 * Google's emulators do not serve the Admin API at all, so these run on
 * dspipe's emulator only (they start it themselves).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator } from '../helpers/emulator.js';
import { createAdminClient } from '../../src/datastore/connection.js';

type AdminIndex = { kind?: string | null; ancestor?: unknown; state?: unknown; indexId?: string | null; properties?: { name?: string | null; direction?: unknown }[] | null };
/** The LRO's result is decoded from bytes (enums as numbers); unary answers spell enums as names. */
const STATES = ['STATE_UNSPECIFIED', 'CREATING', 'READY', 'DELETING', 'ERROR'];
const stateOf = (i: AdminIndex) => (typeof i.state === 'number' ? STATES[i.state] : i.state);

const USER_INDEX = {
  kind: 'User',
  ancestor: 'NONE' as const,
  properties: [
    { name: 'name', direction: 'ASCENDING' as const },
    { name: 'birthday', direction: 'DESCENDING' as const },
  ],
};

async function setup(buildMs = 150) {
  const t = await startTestEmulator({ indexes: { buildMs } });
  const admin = createAdminClient(t.connection);
  const projectId = t.connection.projectId;
  return {
    t,
    admin,
    projectId,
    close: async () => {
      await admin.close();
      await t.close();
    },
  };
}

test('CreateIndex: CREATING, then READY when its operation completes; GetIndex and ListIndexes show it', async () => {
  const { admin, projectId, close } = await setup();
  try {
    const [operation] = await admin.createIndex({ projectId, index: USER_INDEX });
    const metadata = operation.metadata as { indexId?: string; common?: { operationType?: string } } | null;
    const indexId = metadata?.indexId ?? '';
    assert.ok(indexId !== '', 'the operation metadata names the index');
    const [during] = await admin.getIndex({ projectId, indexId });
    assert.equal(during.state, 'CREATING');
    const [done] = await operation.promise();
    assert.equal(stateOf(done), 'READY');
    assert.equal(done.kind, 'User');
    assert.equal(done.indexId, indexId);
    const [listed] = await admin.listIndexes({ projectId });
    assert.deepEqual(
      listed.map((i: AdminIndex) => [i.kind, i.ancestor, i.properties?.map((p) => `${p.name} ${p.direction}`), i.state]),
      [['User', 'NONE', ['name ASCENDING', 'birthday DESCENDING'], 'READY']],
    );
    const [other] = await admin.listIndexes({ projectId: `${projectId}-other` });
    assert.deepEqual(other, [], 'indexes belong to their project');
  } finally {
    await close();
  }
});

test('CreateIndex refuses an index that exists (ALREADY_EXISTS) and single-property indexes (INVALID_ARGUMENT)', async () => {
  const { admin, projectId, close } = await setup(0);
  try {
    const [operation] = await admin.createIndex({ projectId, index: USER_INDEX });
    await operation.promise();
    await assert.rejects(admin.createIndex({ projectId, index: USER_INDEX }), (err: { code?: number }) => err.code === 6);
    await assert.rejects(
      admin.createIndex({ projectId, index: { kind: 'User', ancestor: 'NONE', properties: [{ name: 'name', direction: 'ASCENDING' }] } }),
      (err: { code?: number; details?: string }) => err.code === 3 && /single property/.test(err.details ?? ''),
    );
    // With ancestors one property is a composite index (ancestor + sort needs one).
    const [anc] = await admin.createIndex({ projectId, index: { kind: 'Post', ancestor: 'ALL_ANCESTORS', properties: [{ name: 'date', direction: 'DESCENDING' }] } });
    const [ready] = await anc.promise();
    assert.equal(ready.ancestor, 2, 'ALL_ANCESTORS');
    assert.equal(stateOf(ready), 'READY');
  } finally {
    await close();
  }
});

test('DeleteIndex: DELETING, then gone; only READY or ERROR indexes can be deleted; unknown ids are NOT_FOUND', async () => {
  const { admin, projectId, close } = await setup();
  try {
    const [create] = await admin.createIndex({ projectId, index: USER_INDEX });
    const indexId = (create.metadata as { indexId: string }).indexId;
    await assert.rejects(admin.deleteIndex({ projectId, indexId }), (err: { code?: number }) => err.code === 9, 'a CREATING index cannot be deleted');
    await create.promise();
    const [del] = await admin.deleteIndex({ projectId, indexId });
    const [deleting] = await admin.getIndex({ projectId, indexId });
    assert.equal(deleting.state, 'DELETING');
    const [last] = await del.promise();
    assert.equal(last.indexId, indexId);
    await assert.rejects(admin.getIndex({ projectId, indexId }), (err: { code?: number }) => err.code === 5);
    const [listed] = await admin.listIndexes({ projectId });
    assert.deepEqual(listed, []);
    await assert.rejects(admin.deleteIndex({ projectId, indexId: 'nope' }), (err: { code?: number }) => err.code === 5);
  } finally {
    await close();
  }
});

test('an index whose build would give an entity more than 20,000 entries goes to ERROR, and its operation fails saying why', async () => {
  const { t, admin, projectId, close } = await setup(0);
  try {
    // 150 × 150 = 22,500 entries for one entity in an index on both arrays: an exploding index.
    const list = (n: number) => ({ arrayValue: { values: Array.from({ length: n }, (_, i) => ({ integerValue: String(i) })) } });
    await t.client.commit({
      projectId,
      mode: 'NON_TRANSACTIONAL',
      mutations: [{ upsert: { key: { path: [{ kind: 'Tagged', name: 'big' }] }, properties: { a: list(150), b: list(150) } } }],
    });
    const [operation] = await admin.createIndex({
      projectId,
      index: { kind: 'Tagged', ancestor: 'NONE', properties: [{ name: 'a', direction: 'ASCENDING' }, { name: 'b', direction: 'ASCENDING' }] },
    });
    await assert.rejects(operation.promise(), (err: Error) => /22500 entries/.test(err.message) && /Tagged\("big"\)/.test(err.message));
    const [listed] = await admin.listIndexes({ projectId });
    assert.equal(listed[0]?.state, 'ERROR');
    // An ERROR index can be deleted.
    const [del] = await admin.deleteIndex({ projectId, indexId: listed[0]!.indexId! });
    await del.promise();
  } finally {
    await close();
  }
});

test('ListIndexes pages with page_size and page_token', async () => {
  const { admin, projectId, close } = await setup(0);
  try {
    for (const kind of ['A', 'B', 'C']) {
      const [op] = await admin.createIndex({ projectId, index: { ...USER_INDEX, kind } });
      await op.promise();
    }
    const [page, next] = await admin.listIndexes({ projectId, pageSize: 2 }, { autoPaginate: false });
    assert.equal(page.length, 2);
    assert.ok(next?.pageToken);
    const [rest] = await admin.listIndexes({ projectId, pageSize: 2, pageToken: next!.pageToken! }, { autoPaginate: false });
    assert.deepEqual([...page, ...rest].map((i: AdminIndex) => i.kind), ['A', 'B', 'C']);
  } finally {
    await close();
  }
});

test('POST /reset drops the indexes created since the start, with the data', async () => {
  const { t, admin, projectId, close } = await setup(0);
  try {
    const [op] = await admin.createIndex({ projectId, index: USER_INDEX });
    await op.promise();
    const res = await fetch(`http://${t.emulator.address}/reset`, { method: 'POST' });
    assert.equal(res.status, 200);
    const [listed] = await admin.listIndexes({ projectId });
    assert.deepEqual(listed, []);
  } finally {
    await close();
  }
});
