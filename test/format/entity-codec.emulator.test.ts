/**
 * The codec against what the real v1.DatastoreClient hands back: entities
 * written through Commit and read through Lookup (our emulator behind it) must
 * survive encode -> decode unchanged, and a decoded line must commit and read
 * back as the same entity.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import type { IEntity, IKey, IValue } from '../../src/model/proto.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator({ projectId: 'codec-test' });
});
after(() => t.close());

function key(namespaceId: string, ...path: object[]): IKey {
  return { partitionId: { projectId: 'codec-test', namespaceId }, path } as IKey;
}

function allBytes(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

function rich(k: IKey): IEntity {
  let deep: IValue = { stringValue: 'bottom' };
  for (let i = 0; i < 19; i++) deep = { entityValue: { properties: { child: deep } } };
  const props: Record<string, IValue> = {
    int: { integerValue: '9223372036854775807' },
    intMin: { integerValue: '-9223372036854775808' },
    one: { integerValue: '1' },
    oneDouble: { doubleValue: 1 },
    negZero: { doubleValue: -0 },
    nan: { doubleValue: NaN },
    inf: { doubleValue: -Infinity },
    sub: { doubleValue: 5e-324 },
    ts: { timestampValue: { seconds: '-62135596800', nanos: 0 } },
    tsMax: { timestampValue: { seconds: '253402300799', nanos: 999999000 } },
    tsBefore1970: { timestampValue: { seconds: '-1', nanos: 999999000 } },
    str: { stringValue: 'NUL\u0000 emoji 😀 astral \u{10FFFF}' },
    blob: { blobValue: allBytes(), excludeFromIndexes: true },
    geo: { geoPointValue: { latitude: 47.3769, longitude: 8.5417 } },
    ref: { keyValue: key('other-ns', { kind: 'Ref', name: 'r' }, { kind: 'Leaf', id: '9223372036854775807' }) },
    empty: { arrayValue: { values: [] } },
    mixed: {
      arrayValue: {
        values: [
          { integerValue: '1', excludeFromIndexes: true },
          { integerValue: '253402300800000000', meaning: 7 },
          { stringValue: 'x'.repeat(2000), excludeFromIndexes: true },
          { nullValue: 'NULL_VALUE' },
          { entityValue: { key: key('', { kind: 'Emb', name: 'e' }), properties: { a: { booleanValue: true } } } },
        ],
      },
    },
    embedded: { entityValue: { properties: { x: { integerValue: '5', excludeFromIndexes: true } } } },
    deep,
    meaningful: { stringValue: 'x', meaning: 15, excludeFromIndexes: true },
  };
  return { key: k, properties: props } as IEntity;
}

async function lookup(keys: IKey[]): Promise<IEntity[]> {
  const [res] = await t.client.lookup({ projectId: 'codec-test', keys });
  assert.equal(res.missing?.length ?? 0, 0);
  const found = (res.found ?? []) as Array<{ entity?: IEntity | null }>;
  const byKey = new Map(found.map((f) => [JSON.stringify(f.entity!.key!.path), f.entity!]));
  return keys.map((k) => byKey.get(JSON.stringify(decodeEntity(encodeEntity({ key: k, properties: {} })).key!.path))!);
}

test('what Lookup returns encodes and decodes to the identical object', async () => {
  const k1 = key('', { kind: 'Codec', id: '123' });
  // Datastore takes only [0-9A-Za-z._-] in namespace names; Unicode goes in the key name.
  const k2 = key('ns-1.a_b', { kind: 'Parent', name: 'p' }, { kind: 'Codec', name: 'with\u0000nul' });
  await t.client.commit({ projectId: 'codec-test', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: rich(k1) }, { upsert: rich(k2) }] });
  for (const found of await lookup([k1, k2])) {
    assert.ok(found, 'entity written');
    // The gRPC layer's shape, not ours: oneof names, defaults, Buffers.
    assert.equal(Object.keys(found.properties!).length, 20);
    assert.deepEqual(found.properties!['int'], { meaning: 0, excludeFromIndexes: false, integerValue: '9223372036854775807', valueType: 'integerValue' });
    assert.ok(Buffer.isBuffer(found.properties!['blob']!.blobValue));
    const line = encodeEntity(found);
    assert.deepStrictEqual(decodeEntity(line), found);
  }
});

test('a decoded line commits and reads back as the same entity and the same line', async () => {
  const k = key('', { kind: 'Codec', id: '456' });
  await t.client.commit({ projectId: 'codec-test', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: rich(k) }] });
  const [original] = await lookup([k]);
  const line = encodeEntity(original!);
  const copyKey = key('copy', { kind: 'Codec', id: '456' });
  const decoded = decodeEntity(line.replace('"namespaceId":""},"path":[{"kind":"Codec","id":"456"}]', '"namespaceId":"copy"},"path":[{"kind":"Codec","id":"456"}]'));
  assert.deepEqual(decoded.key, decodeEntity(encodeEntity({ key: copyKey, properties: {} })).key);
  await t.client.commit({ projectId: 'codec-test', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: decoded }] });
  const [copy] = await lookup([copyKey]);
  assert.deepStrictEqual(copy!.properties, original!.properties);
  assert.equal(encodeEntity({ key: original!.key, properties: copy!.properties }), line);
});
