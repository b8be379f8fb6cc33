/**
 * Stored entities as bytes (src/emulator/packed.ts): what the store decodes
 * from its packed properties must be what proto-loader decodes from the same
 * bytes (the shape the query engine was written against), for every value
 * type and its edges; and the durable log's records read back without
 * decoding a value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { decodeLookupEntities, decodeProperties, PackedEntity } from '../../src/emulator/packed.js';
import { serviceDefinition } from '../../src/emulator/server.js';
import { encodeLookupResponse, encodeProperties } from '../../src/emulator/wire.js';
import type { Value as IValue } from '../../src/model/proto.js';

const V = (valueType: string, value: unknown, extra: Partial<IValue> = {}): IValue => ({ valueType, [valueType]: value, ...extra }) as IValue;
const key = (...path: object[]) => ({ partitionId: { projectId: 'p', databaseId: '', namespaceId: 'ns' }, path });

const PROPERTIES: Record<string, IValue> = {
  nul: V('nullValue', 'NULL_VALUE'),
  t: V('booleanValue', true),
  f: V('booleanValue', false),
  zero: V('integerValue', '0'),
  big: V('integerValue', '9223372036854775807'),
  min: V('integerValue', '-9223372036854775808'),
  neg: V('integerValue', '-5'),
  mid: V('integerValue', String(2 ** 53 + 2)),
  d: V('doubleValue', 1.5),
  negZero: V('doubleValue', -0),
  nan: V('doubleValue', NaN),
  inf: V('doubleValue', -Infinity),
  ts: V('timestampValue', { seconds: '1600000000', nanos: 123000 }),
  before1970: V('timestampValue', { seconds: '-62135596800', nanos: 0 }),
  epoch: V('timestampValue', { seconds: '0', nanos: 0 }),
  k: V('keyValue', key({ kind: 'A', id: '-7' }, { kind: 'B', name: 'é' })),
  s: V('stringValue', 'héllo 😀', { meaning: 15, excludeFromIndexes: true }),
  empty: V('stringValue', ''),
  b: V('blobValue', Buffer.from([0, 255, 1])),
  emptyBlob: V('blobValue', Buffer.alloc(0)),
  geo: V('geoPointValue', { latitude: -0, longitude: 179.5 }),
  e: V('entityValue', { key: key({ kind: 'E' }), properties: { inner: V('integerValue', '1'), deeper: V('entityValue', { key: null, properties: {} }) } }),
  a: V('arrayValue', { values: [V('stringValue', 'x', { excludeFromIndexes: true }), V('integerValue', '2')] }),
  emptyArray: V('arrayValue', { values: [] }),
};

function protoLoaderDecoded(properties: Record<string, IValue>): Record<string, unknown> {
  const lookup = serviceDefinition().Lookup as unknown as grpc.MethodDefinition<object, { found: { entity: { properties: Record<string, unknown> } }[] }>;
  const bytes = encodeLookupResponse({ found: [{ entity: { key: key({ kind: 'K', id: '1' }), properties } }] })!;
  return lookup.responseDeserialize(bytes).found[0]!.entity.properties;
}

test('decodes every value type to the shape proto-loader gives the same bytes', () => {
  const packed = encodeProperties(PROPERTIES);
  const ours = decodeProperties(packed);
  const theirs = protoLoaderDecoded(PROPERTIES);
  assert.deepEqual(Object.keys(ours), Object.keys(PROPERTIES));
  for (const name of Object.keys(PROPERTIES)) assert.deepStrictEqual(normal(ours[name]), normal(theirs[name]), name);
  assert.ok(Object.is(ours.negZero!.doubleValue, -0));
  assert.ok(Object.is(ours.geo!.geoPointValue!.latitude, -0));
  // Encoding what was decoded gives the same bytes.
  assert.deepEqual(encodeProperties(ours), packed);
});

test('a packed entity decodes once while it is recent and reports its times', () => {
  const e = new PackedEntity(key({ kind: 'K', id: '1' }), encodeProperties(PROPERTIES), 1_600_000_000_000_001, 1_600_000_000_000_002);
  assert.equal(e.properties, e.properties);
  assert.equal(e.version, '1600000000000002');
  assert.deepEqual(e.createTime, { seconds: '1600000000', nanos: 1000 });
  assert.deepEqual(e.updateTime, { seconds: '1600000000', nanos: 2000 });
});

test('the durable record form reads back keys, times and the property bytes, and missing keys', () => {
  const e = new PackedEntity(key({ kind: 'K', id: '-3' }), encodeProperties(PROPERTIES), 1_600_000_000_000_001, 1_600_000_000_000_002);
  const body = encodeLookupResponse({
    found: [{ entity: e, version: e.version, createTime: e.createTime, updateTime: e.updateTime }],
    missing: [{ entity: { key: key({ kind: 'K', name: 'gone' }) } }],
  })!;
  const { found, missing } = decodeLookupEntities(body);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.key, key({ kind: 'K', id: '-3' }));
  assert.deepEqual(found[0]!.packed, e.packed);
  assert.equal(found[0]!.createMicros, 1_600_000_000_000_001);
  assert.equal(found[0]!.updateMicros, 1_600_000_000_000_002);
  assert.deepEqual(missing, [key({ kind: 'K', name: 'gone' })]);
});

/** proto-loader adds idType to key elements and keeps NaN as NaN: compare what the engine reads. */
function normal(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === 'idType' ? undefined : typeof x === 'number' && !Number.isFinite(x) ? String(x) : Object.is(x, -0) ? '-0' : x)));
}
