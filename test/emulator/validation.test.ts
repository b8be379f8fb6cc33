import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, commit, entity, int, key, lookup, rejectsWith, str } from './conformance.js';
import type { IKey } from '../../src/model/proto.js';

const MAX_ENTITY = 1_048_572;

describe('emulator validation limits', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
  });
  after(() => t.close());

  it('accepts an entity of exactly 1,048,572 bytes by the storage size formula and refuses one byte more', async () => {
    // 32 (entity) + key 16 + "Big" 4 + "a" 2 + property names "s", "t" 2 each + strings n + 1 each;
    // two strings, as one value may hold at most 1,048,487 bytes.
    const overhead = 32 + 16 + 4 + 2 + 2 + 1 + 2 + 1;
    const half = 'x'.repeat(500_000);
    const fits = 'x'.repeat(MAX_ENTITY - overhead - half.length);
    await commit(t, [{ upsert: entity(key('Big', 'a'), { s: str(fits, true), t: str(half, true) }) }]);
    await rejectsWith(
      commit(t, [{ upsert: entity(key('Big', 'a'), { s: str(fits + 'x', true), t: str(half, true) }) }]),
      Code.INVALID_ARGUMENT,
      /too big: 1048573 bytes/,
    );
  });

  it('limits indexed strings and blobs to 1,500 bytes unless excluded from indexes', async () => {
    await commit(t, [{ upsert: entity(key('S', 1), { s: str('é'.repeat(750)) }) }]);
    await rejectsWith(
      commit(t, [{ upsert: entity(key('S', 1), { s: str('x'.repeat(1501)) }) }]),
      Code.INVALID_ARGUMENT,
      /property "s" is longer than 1500 bytes/,
    );
    await rejectsWith(
      commit(t, [{ upsert: entity(key('S', 1), { b: { blobValue: Buffer.alloc(1501) } }) }]),
      Code.INVALID_ARGUMENT,
      /longer than 1500 bytes/,
    );
    await rejectsWith(
      commit(t, [{ upsert: entity(key('S', 1), { a: { arrayValue: { values: [str('ok'), str('x'.repeat(1501))] } } }) }]),
      Code.INVALID_ARGUMENT,
    );
    await commit(t, [
      {
        upsert: entity(key('S', 1), {
          s: str('x'.repeat(5000), true),
          b: { blobValue: Buffer.alloc(5000), excludeFromIndexes: true },
          a: { arrayValue: { values: [str('x'.repeat(5000), true)] } },
          e: { entityValue: { properties: { deep: str('x'.repeat(5000)) } }, excludeFromIndexes: true },
        }),
      },
    ]);
  });

  it('limits key paths to 100 elements', async () => {
    const path = (n: number): IKey => ({ path: Array.from({ length: n }, (_, i) => ({ kind: 'P', id: String(i + 1) })) });
    await commit(t, [{ upsert: entity(path(100)) }]);
    await rejectsWith(commit(t, [{ upsert: entity(path(101)) }]), Code.INVALID_ARGUMENT, /101 elements/);
  });

  it('refuses reserved kinds and property names, id 0, empty and long names, and misplaced incomplete elements', async () => {
    const cases: [string, Promise<unknown>, RegExp][] = [
      ['reserved kind', commit(t, [{ upsert: entity(key('__kind__', 'x')) }]), /reserved/],
      ['reserved kind on delete', commit(t, [{ delete: key('__Stat_Total__', 1) }]), /reserved/],
      ['reserved name', commit(t, [{ upsert: entity(key('K', '__x__')) }]), /reserved/],
      ['reserved property', commit(t, [{ upsert: entity(key('K', 1), { __p__: int(1) }) }]), /reserved/],
      ['reserved nested property', commit(t, [{ upsert: entity(key('K', 1), { e: { entityValue: { properties: { __p__: int(1) } } } }) }]), /reserved/],
      ['id 0', commit(t, [{ upsert: entity({ path: [{ kind: 'K', id: '0' }] }) }]), /^Key path id is invalid. Must not be zero./],
      ['empty kind', commit(t, [{ upsert: entity({ path: [{ kind: '', name: 'a' }] }) }]), /^The kind is the empty string\./],
      ['empty name', commit(t, [{ upsert: entity({ path: [{ kind: 'K', name: '' }] }) }]), /name is empty/],
      ['long name', commit(t, [{ upsert: entity(key('K', 'n'.repeat(1501))) }]), /longer than 1500 bytes/],
      ['incomplete parent', commit(t, [{ upsert: entity({ path: [{ kind: 'P' }, { kind: 'K', name: 'a' }] }) }]), /incomplete/],
      ['incomplete update', commit(t, [{ update: entity(key('K')) }]), /incomplete/],
      ['incomplete delete', commit(t, [{ delete: key('K') }]), /incomplete/],
      ['empty path', commit(t, [{ upsert: entity({ path: [] }) }]), /empty/],
      ['array in array', commit(t, [{ upsert: entity(key('K', 1), { a: { arrayValue: { values: [{ arrayValue: { values: [] } }] } } }) }]), /^list_value cannot contain a Value containing another list_value\. \(mutation 0 \(K\(1\)\), property "a"\)$/],
      ['excluded array', commit(t, [{ upsert: entity(key('K', 1), { a: { arrayValue: { values: [] }, excludeFromIndexes: true } }) }]), /^Exclude from indexes cannot be set on a list value \(mutation 0 \(K\(1\)\), property "a": set it on the array's values\)$/],
      ['bad geo point', commit(t, [{ upsert: entity(key('K', 1), { g: { geoPointValue: { latitude: 91, longitude: 0 } } }) }]), /geo point/],
      ['other project', commit(t, [{ upsert: entity({ partitionId: { projectId: 'elsewhere' }, path: [{ kind: 'K', name: 'a' }] }) }]), /mismatched projects/],
      ['incomplete key value', commit(t, [{ upsert: entity(key('K', 1), { k: { keyValue: key('K') } }) }]), /incomplete/],
    ];
    for (const [what, promise, pattern] of cases) {
      await rejectsWith(promise, Code.INVALID_ARGUMENT, pattern).catch((err) => {
        throw new Error(`${what}: ${(err as Error).message}`);
      });
    }
    const r = await lookup(t, [key('K', 1), key('K', '__x__')]);
    assert.equal(r.found!.length, 0, 'nothing from the refused commits was written');
  });

  it('fills the project of key values and of keys without a partition', async () => {
    await commit(t, [{ upsert: entity({ path: [{ kind: 'K', name: 'ref' }] }, { k: { keyValue: { path: [{ kind: 'Other', id: '7' }] } } }) }]);
    const got = (await lookup(t, [key('K', 'ref')])).found![0]!.entity!;
    assert.equal(got.key!.partitionId!.projectId, t.connection.projectId);
    assert.equal(got.properties!.k!.keyValue!.partitionId!.projectId, t.connection.projectId);
  });

  it('answers Lookups of any number of keys (no fixed cap, as Google), refuses incomplete ones', async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => key('L', i + 1));
    const r = await lookup(t, keys);
    assert.equal(r.missing!.length, 1001);
    await rejectsWith(lookup(t, [key('L')]), Code.INVALID_ARGUMENT, /incomplete/);
  });

  it('refuses requests over 10 MiB with INVALID_ARGUMENT (the transport accepts them)', async () => {
    const big = 'x'.repeat(1_000_000);
    const mutations = Array.from({ length: 11 }, (_, i) => ({ upsert: entity(key('Huge', i + 1), { s: str(big, true) }) }));
    await rejectsWith(commit(t, mutations), Code.INVALID_ARGUMENT, /Request payload size exceeds the limit: 10485760 bytes/);
    await commit(t, mutations.slice(0, 10));
    const r = await lookup(t, [key('Huge', 1), key('Huge', 11)]);
    assert.equal(r.found!.length, 1);
    assert.equal(r.missing!.length, 1);
  });
});
