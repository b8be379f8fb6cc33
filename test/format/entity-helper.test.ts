import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntityHelper, GeoPoint, Timestamp, fromValue, toValue, wrapEntity } from '../../src/format/entity-helper.js';
import type { IEntity } from '../../src/model/proto.js';

const raw = (): IEntity => ({
  key: { partitionId: { projectId: 'p', namespaceId: '' }, path: [{ kind: 'User', name: 'alice' }] },
  properties: {
    birthday: { valueType: 'timestampValue', timestampValue: { seconds: '946684800', nanos: 123456000 }, excludeFromIndexes: true, meaning: 0 } as never,
    age: { integerValue: '9007199254740993' },
    score: { doubleValue: 1 },
    bio: { stringValue: 'long', excludeFromIndexes: true, meaning: 15 },
    photo: { blobValue: Buffer.from([1, 2, 3]) },
    where: { geoPointValue: { latitude: 35, longitude: 135 } },
    nothing: { nullValue: 'NULL_VALUE' },
    tags: { arrayValue: { values: [{ stringValue: 'a', excludeFromIndexes: true }, { stringValue: 'b', excludeFromIndexes: true }] } },
    address: { entityValue: { properties: { city: { stringValue: 'Kyoto' } } } },
    friend: { keyValue: { path: [{ kind: 'User', name: 'bob' }] } },
  },
});

test('get returns typed JS values: bigint for int64, number for double, Timestamp keeping µs', () => {
  const e = wrapEntity(raw());
  assert.equal(e.get('age'), 9007199254740993n);
  assert.equal(e.get('score'), 1);
  assert.equal(e.getNumber('age'), 9007199254740992);
  const ts = e.get('birthday') as Timestamp;
  assert.ok(ts instanceof Date && ts instanceof Timestamp);
  assert.equal(ts.toRfc3339(), '2000-01-01T00:00:00.123456Z');
  assert.deepEqual(ts.toProto(), { seconds: '946684800', nanos: 123456000 });
  assert.deepEqual(e.get('photo'), Buffer.from([1, 2, 3]));
  assert.deepEqual(e.get('where'), new GeoPoint(35, 135));
  assert.equal(e.get('nothing'), null);
  assert.deepEqual(e.get('tags'), ['a', 'b']);
  assert.equal((e.get('address') as EntityHelper).get('city'), 'Kyoto');
  assert.deepEqual(e.get('friend'), { path: [{ kind: 'User', name: 'bob' }] });
  assert.equal(e.get('absent'), undefined);
  assert.equal(e.type('birthday'), 'timestamp');
  assert.equal(e.kind, 'User');
});

test('set keeps excludeFromIndexes always and meaning when the type is unchanged', () => {
  const e = wrapEntity(raw());
  e.set('bio', 'longer');
  assert.deepEqual(e.getRaw('bio'), { stringValue: 'longer', excludeFromIndexes: true, meaning: 15 });
  e.set('birthday', '2000-01-01');
  assert.deepEqual(e.getRaw('birthday'), { stringValue: '2000-01-01', excludeFromIndexes: true });
  e.set('tags', ['c']);
  assert.deepEqual(e.getRaw('tags'), { arrayValue: { values: [{ stringValue: 'c', excludeFromIndexes: true }] } });
  e.set('fresh', 5n);
  assert.deepEqual(e.getRaw('fresh'), { integerValue: '5' });
  e.set('ratio', 5);
  assert.deepEqual(e.getRaw('ratio'), { doubleValue: 5 });
  e.set('bio', 'x', { excludeFromIndexes: false, meaning: 0 });
  assert.deepEqual(e.getRaw('bio'), { stringValue: 'x' });
});

test('set converts every JS type and round-trips through get', () => {
  const e = new EntityHelper({ properties: {} });
  const values = {
    s: 'x', i: -(2n ** 63n), d: Number.NaN, b: true, n: null, t: new Timestamp(-62135596800000, 7), blob: Buffer.from('hi'),
    g: new GeoPoint(-1.5, 2.25), k: { partitionId: { namespaceId: 'ns' }, path: [{ kind: 'A', id: '1' }] }, arr: [1n, 'two', null],
  };
  for (const [name, v] of Object.entries(values)) e.set(name, v);
  for (const [name, v] of Object.entries(values)) assert.deepEqual(e.get(name), v, name);
  e.set('plain', { city: 'Nara', zip: 630n });
  const nested = e.get('plain') as EntityHelper;
  assert.equal(nested.get('zip'), 630n);
  assert.equal(nested.key, null);
  e.set('date', new Date('2020-02-03T04:05:06.789Z'));
  assert.deepEqual(e.getRaw('date'), { timestampValue: { seconds: '1580702706', nanos: 789000000 } });
});

test('bad values are refused with the property path', () => {
  const e = new EntityHelper({ properties: {} });
  assert.throws(() => e.set('big', 2n ** 63n), /big: .* 64-bit/);
  assert.throws(() => e.set('nested', [[1n]] as never), /nested\[0\]: .*arrays/);
  assert.throws(() => toValue((() => 1) as never, 'fn'), /fn: cannot store a function/);
  assert.throws(() => e.set('u', undefined as never), /undefined/);
});

test('delete and rename move raw values; rename refuses to overwrite', () => {
  const e = wrapEntity(raw());
  assert.equal(e.rename('bio', 'about'), true);
  assert.deepEqual(e.getRaw('about'), { stringValue: 'long', excludeFromIndexes: true, meaning: 15 });
  assert.equal(e.has('bio'), false);
  assert.equal(e.rename('bio', 'x'), false);
  assert.throws(() => e.rename('age', 'score'), /already has "score"/);
  assert.equal(e.delete('age'), true);
  assert.equal(e.delete('age'), false);
  const out = e.toEntity();
  assert.equal('age' in out.properties!, false);
  assert.equal(raw().properties!.bio!.stringValue, 'long');
});

test('the helper never mutates the raw entity it wraps', () => {
  const r = raw();
  const e = wrapEntity(r);
  e.set('bio', 'changed');
  e.delete('age');
  assert.equal(r.properties!.bio!.stringValue, 'long');
  assert.ok('age' in r.properties!);
});

test('fromValue of JSON-mapped blobs', () => {
  assert.deepEqual(fromValue({ blobValue: 'AQID' as never }), Buffer.from([1, 2, 3]));
});
