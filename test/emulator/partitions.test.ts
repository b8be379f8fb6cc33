import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, entity, int, rejectsWith } from './conformance.js';
import type { IKey, IMutation } from '../../src/model/proto.js';

describe('emulator partitions: projects, named databases, namespaces', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
  });
  after(() => t.close());

  const k = (namespaceId: string, name: string, extra: Record<string, string> = {}): IKey => ({
    partitionId: { namespaceId, ...extra },
    path: [{ kind: 'Part', name }],
  });
  const write = (databaseId: string, mutations: IMutation[], projectId = t.connection.projectId) =>
    t.client.commit({ projectId, databaseId, mode: 'NON_TRANSACTIONAL', mutations }, NO_RETRY);
  const read = async (databaseId: string, keys: IKey[], projectId = t.connection.projectId) =>
    (await t.client.lookup({ projectId, databaseId, keys }, NO_RETRY))[0];

  it('keeps namespaces, databases and projects apart', async () => {
    await write('', [{ upsert: entity(k('', 'x'), { n: int(1) }) }, { upsert: entity(k('ns1', 'x'), { n: int(2) }) }]);
    await write('db2', [{ upsert: entity(k('', 'x'), { n: int(3) }) }]);
    await write('', [{ upsert: entity(k('', 'x'), { n: int(4) }) }], 'other-project');
    const n = (r: Awaited<ReturnType<typeof read>>) => r.found![0]!.entity!.properties!.n!.integerValue;
    assert.equal(n(await read('', [k('', 'x')])), '1');
    assert.equal(n(await read('', [k('ns1', 'x')])), '2');
    assert.equal(n(await read('db2', [k('', 'x')])), '3');
    assert.equal(n(await read('', [k('', 'x')], 'other-project')), '4');
    assert.equal((await read('db2', [k('ns1', 'x')])).missing!.length, 1);
    const got = (await read('db2', [k('', 'x')])).found![0]!.entity!.key!.partitionId!;
    assert.deepEqual({ ...got }, { projectId: t.connection.projectId, databaseId: 'db2', namespaceId: '' });
  });

  it('queries one namespace of one database', async () => {
    const [r] = await t.client.runQuery(
      { projectId: t.connection.projectId, databaseId: 'db2', partitionId: { namespaceId: '' }, query: { kind: [{ name: 'Part' }] } },
      NO_RETRY,
    );
    assert.equal(r.batch!.entityResults!.length, 1);
    assert.equal(r.batch!.entityResults![0]!.entity!.properties!.n!.integerValue, '3');
  });

  it('refuses keys naming another project or database than the request', async () => {
    await rejectsWith(write('', [{ upsert: entity(k('', 'y', { projectId: 'nope' })) }]), Code.INVALID_ARGUMENT, /mismatched projects/);
    await rejectsWith(
      write('', [{ upsert: entity(k('', 'y', { projectId: t.connection.projectId, databaseId: 'db2' })) }]),
      Code.INVALID_ARGUMENT,
      /mismatched databases/,
    );
    await rejectsWith(read('', [k('__reserved__', 'y')]), Code.INVALID_ARGUMENT, /reserved/);
  });

  it('serves a named database through the high-level client', async () => {
    const { startTestEmulator: start } = await import('../helpers/emulator.js');
    const named = await start({ databaseId: 'named-db' });
    try {
      const key = named.datastore.key(['Thing', 'one']);
      await named.datastore.save({ key, data: { n: 7 } });
      const [e] = await named.datastore.get(key);
      assert.equal(e.n, 7);
      const [lookupDefault] = await named.client.lookup(
        { projectId: named.connection.projectId, databaseId: '', keys: [{ path: [{ kind: 'Thing', name: 'one' }] }] },
        NO_RETRY,
      );
      assert.equal(lookupDefault.missing!.length, 1, 'the default database is another one');
    } finally {
      await named.close();
    }
  });
});
