import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { commit, entity, int, key, lookup, str } from './conformance.js';

describe('emulator Lookup', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
  });
  after(() => t.close());

  it('returns found entities with version and times, and missing keys with the read version', async () => {
    const w = await commit(t, [{ upsert: entity(key('LK', 'a'), { n: int(1) }) }]);
    const r = await lookup(t, [key('LK', 'a'), key('LK', 'b'), key('Parent', 1, 'LK', 'a')]);
    assert.equal(r.found!.length, 1);
    assert.equal(r.missing!.length, 2);
    const found = r.found![0]!;
    assert.equal(found.version, w.mutationResults![0]!.version);
    assert.deepEqual(found.createTime, w.mutationResults![0]!.createTime);
    assert.deepEqual(found.updateTime, w.mutationResults![0]!.updateTime);
    assert.deepEqual({ ...found.entity!.key!.partitionId }, { projectId: t.connection.projectId, databaseId: '', namespaceId: '' });
    const readMicros = BigInt(String(r.readTime!.seconds)) * 1_000_000n + BigInt(r.readTime!.nanos!) / 1000n;
    for (const m of r.missing!) {
      assert.equal(m.version, String(readMicros), 'a missing entity carries the version of the snapshot read');
      assert.equal(m.updateTime, null);
    }
    assert.ok(BigInt(String(found.version)) <= readMicros);
  });

  it('defers keys beyond what one response carries, and the high-level client follows up', async () => {
    const big = 'x'.repeat(1_000_000);
    // Google's emulators answer 28 of these whole; ours defers past 32 MiB.
    const n = 40;
    for (let i = 1; i <= n; i += 4) {
      await commit(t, [0, 1, 2, 3].map((j) => ({ upsert: entity(key('Heavy', i + j), { s: str(big, true) }) })));
    }
    const keys = Array.from({ length: n }, (_, i) => key('Heavy', i + 1));
    const r = await lookup(t, keys);
    assert.ok(r.deferred!.length > 0, 'some keys deferred');
    assert.ok(r.found!.length >= 28, `${r.found!.length} found in the first response`);
    assert.equal(r.found!.length + r.deferred!.length, n);
    const [all] = await t.datastore.get(keys.map((k) => t.datastore.key(['Heavy', Number(k.path![0]!.id)])));
    assert.equal(all.length, n);
  });
});
