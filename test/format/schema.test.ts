import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaAccumulator, describeTypes, formatSchemaTable } from '../../src/format/schema.js';
import type { IEntity, IValue } from '../../src/model/proto.js';

const key = (kind: string, name: string, ns = ''): IEntity['key'] => ({ partitionId: { projectId: 'p', namespaceId: ns }, path: [{ kind, name }] });


test('accumulates mixed types, missing, index flags, nested and array paths per namespace and kind', () => {
  const acc = new SchemaAccumulator();
  const ts: IValue = { timestampValue: { seconds: '0', nanos: 0 } };
  for (let i = 0; i < 5; i++) acc.add({ key: key('User', `t${i}`), properties: { birthday: ts, name: { stringValue: 'x'.repeat(i) } } });
  acc.add({ key: key('User', 's1'), properties: { birthday: { stringValue: '2000-01-01', excludeFromIndexes: true } } });
  acc.add({ key: key('User', 'n1'), properties: {} });
  acc.add({
    key: key('User', 'e1'),
    properties: {
      address: { entityValue: { properties: { city: { stringValue: 'Kyoto' } } } },
      tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }, { integerValue: '3' }] } },
    },
  });
  acc.add({ key: key('User', 'o', 'other'), properties: { a: { booleanValue: true } } });
  const [def, other] = acc.result();
  assert.equal(def!.namespace, '');
  assert.equal(def!.entities, 8);
  assert.deepEqual(def!.properties.birthday, { types: { timestamp: 5, string: 1 }, entities: 6, missing: 2, indexed: 5, unindexed: 1, largestValueBytes: 11 });
  assert.equal(describeTypes(def!.properties.birthday!), 'timestamp 5 · string 1 · missing 2');
  assert.deepEqual(def!.properties['address.city']!.types, { string: 1 });
  assert.equal(def!.properties['address.city']!.missing, 7);
  assert.deepEqual(def!.properties['tags[]']!.types, { string: 2, integer: 1 });
  assert.equal(def!.properties['tags[]']!.entities, 1);
  assert.deepEqual(def!.properties.tags!.types, { array: 1 });
  assert.equal(def!.properties.name!.largestValueBytes, 5);
  assert.equal(other!.namespace, 'other');
  assert.deepEqual(Object.keys(def!.properties), ['address', 'address.city', 'birthday', 'name', 'tags', 'tags[]']);
  const table = formatSchemaTable([def!]);
  assert.match(table, /\(default\) \/ User — 8 entities/);
  assert.match(table, /birthday\s+timestamp 5 · string 1 · missing 2\s+5 \/ 1\s+11 B/);
});

test('property names with dots are quoted so paths stay unambiguous', () => {
  const acc = new SchemaAccumulator();
  acc.add({ key: key('K', 'a'), properties: { 'a.b': { stringValue: '' }, a: { entityValue: { properties: { b: { stringValue: '' } } } } } });
  assert.deepEqual(Object.keys(acc.result()[0]!.properties), ['"a.b"', 'a', 'a.b']);
});

test('touch lists an empty kind with zero entities', () => {
  const acc = new SchemaAccumulator();
  acc.touch('', 'Empty');
  assert.deepEqual(acc.result(), [{ namespace: '', kind: 'Empty', entities: 0, largestEntityBytes: 0, properties: {} }]);
});
