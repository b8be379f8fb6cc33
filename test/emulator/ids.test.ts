import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, commit, entity, key, rejectsWith } from './conformance.js';
import type { IKey } from '../../src/model/proto.js';

async function allocate(t: TestEmulator, keys: IKey[]): Promise<string[]> {
  const [r] = await t.client.allocateIds({ projectId: t.connection.projectId, keys }, NO_RETRY);
  return r.keys!.map((k: IKey) => String(k.path![k.path!.length - 1]!.id));
}

const incomplete = (n: number, ...parent: (string | number)[]) => Array.from({ length: n }, () => key(...parent, 'Item'));

describe('emulator AllocateIds / ReserveIds', () => {
  it('allocates unique ids scattered over a large range, completing keys in order', async () => {
    await withEmulator(async (t) => {
      const ids = [...(await allocate(t, incomplete(500))), ...(await allocate(t, incomplete(500, 'Parent', 'p')))];
      assert.equal(new Set(ids).size, ids.length, 'unique');
      // [2^52, 3·2^51), as production and Google's emulators: Firestore's will not reserve ids past it
      for (const id of ids) assert.ok(BigInt(id) >= 2n ** 52n && BigInt(id) < 3n * 2n ** 51n, `scattered id ${id}`);
      const sorted = [...ids].map(BigInt).sort((a, b) => (a < b ? -1 : 1));
      assert.notDeepEqual(sorted.map(String), ids, 'not handed out in ascending order');
      const [r] = await t.client.allocateIds(
        { projectId: t.connection.projectId, keys: [{ partitionId: { namespaceId: 'ns' }, path: [{ kind: 'P', name: 'x' }, { kind: 'C' }] }] },
        NO_RETRY,
      );
      assert.equal(r.keys![0]!.partitionId!.namespaceId, 'ns');
      assert.equal(r.keys![0]!.path![0]!.name, 'x');
    });
  });

  it('allocates ids in [2^52, 3·2^51) over many allocations, by AllocateIds and by inserts of incomplete keys', async () => {
    await withEmulator(async (t) => {
      const ids = (await allocate(t, incomplete(2000))).map(BigInt);
      const inserted = await commit(t, Array.from({ length: 200 }, () => ({ insert: entity(key('Item')) })));
      for (const r of inserted.mutationResults!) ids.push(BigInt(r.key!.path![0]!.id!));
      const [min, max] = [ids.reduce((a, b) => (a < b ? a : b)), ids.reduce((a, b) => (a > b ? a : b))];
      assert.ok(min >= 2n ** 52n && max < 3n * 2n ** 51n, `ids from ${min} to ${max}`);
      // spread over the range, not packed at one end
      assert.ok(max - min > 2n ** 50n, `ids from ${min} to ${max}`);
      assert.equal(new Set(ids).size, ids.length);
    });
  });

  it('never returns reserved ids or ids of existing entities', async () => {
    // Allocation is deterministic per fresh emulator: learn the first ids, then block them.
    const first = await withEmulator((t) => allocate(t, incomplete(20)));
    await withEmulator(async (t) => {
      await t.client.reserveIds({ projectId: t.connection.projectId, keys: first.slice(0, 10).map((id) => key('Item', Number(id))) }, NO_RETRY);
      await commit(t, first.slice(10).map((id) => ({ upsert: entity({ path: [{ kind: 'Item', id }] }) })));
      const again = await allocate(t, incomplete(20));
      for (const id of again) assert.ok(!first.includes(id), `id ${id} was reserved or in use`);
      const fromInsert = await commit(t, [{ insert: entity(key('Item')) }]);
      assert.ok(!first.includes(String(fromInsert.mutationResults![0]!.key!.path![0]!.id)));
    });
  });

  it('refuses complete keys for AllocateIds, incomplete keys for ReserveIds and reserved kinds', async () => {
    await withEmulator(async (t) => {
      await rejectsWith(t.client.allocateIds({ projectId: t.connection.projectId, keys: [key('K', 1)] }, NO_RETRY), Code.INVALID_ARGUMENT, /complete/);
      await rejectsWith(t.client.allocateIds({ projectId: t.connection.projectId, keys: [key('__kind__')] }, NO_RETRY), Code.INVALID_ARGUMENT, /reserved/);
      // A named key is accepted and reserves nothing, as on both Google emulators (parity.test.ts).
      await t.client.reserveIds({ projectId: t.connection.projectId, keys: [key('K', 'name')] }, NO_RETRY);
      await rejectsWith(t.client.reserveIds({ projectId: t.connection.projectId, keys: [key('K')] }, NO_RETRY), Code.INVALID_ARGUMENT, /incomplete/);
    });
  });

  it('works through the high-level client', async () => {
    await withEmulator(async (t) => {
      const [keys] = await t.datastore.allocateIds(t.datastore.key(['Thing']), 3);
      assert.equal(keys.length, 3);
      assert.equal(new Set(keys.map((k) => k.id)).size, 3);
    });
  });
});
