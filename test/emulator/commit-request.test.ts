/**
 * The emulator's fast CommitRequest decoder (src/emulator/commit-request.ts)
 * against proto-loader's, the decoder the service was written against: on the
 * same bytes it gives a deep-equal object, or undefined (and proto-loader
 * decodes). Bytes from the client library's encoding (proto-loader's
 * serializer, as @google-cloud/datastore sends them) and from dspipe's own
 * wire path (lineToMutation + commitRequestBytes, what restore sends).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { decodeCommitRequest, requestPacked } from '../../src/emulator/commit-request.js';
import { validateProperties } from '../../src/emulator/validate.js';
import { encodeProperties } from '../../src/emulator/wire.js';
import { MessageWriter } from '../../src/format/wire/message-writer.js';
import type { Value as IValue } from '../../src/model/proto.js';
import { serviceDefinition, services } from '../../src/emulator/server.js';
import { DatastoreService, type QueryEngine } from '../../src/emulator/service.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { lineToMutation } from '../../src/format/wire/mutation.js';
import { commitRequestBytes } from '../../src/format/wire/commit.js';
import type { IEntity } from '../../src/model/proto.js';
import { CORNER_CASES, entity, nested, randomEntities } from '../fixtures/codec-corpus.js';

const commit = serviceDefinition().Commit as unknown as grpc.MethodDefinition<object, unknown>;
const encode = (request: object) => commit.requestSerialize(request);
const slow = (bytes: Buffer) => commit.requestDeserialize(bytes);

function same(bytes: Buffer, label: string): void {
  const fast = decodeCommitRequest(bytes);
  assert.ok(fast !== undefined, `${label}: the fast path gave up`);
  assert.deepStrictEqual(fast, slow(bytes), label);
}

const key = (path: object[], partitionId: object | undefined = { projectId: 'p', namespaceId: 'ns' }) => ({ ...(partitionId && { partitionId }), path });

test('every corner case of the codec corpus, in each operation, decodes as proto-loader decodes it', () => {
  for (const [name, properties] of CORNER_CASES) {
    for (const op of ['insert', 'update', 'upsert'] as const) {
      same(encode({ projectId: 'p', mode: 'NON_TRANSACTIONAL', mutations: [{ [op]: entity(properties) }] }), `${name} (${op})`);
    }
  }
  same(encode({ projectId: 'p', mutations: [{ upsert: entity({ deep: nested(18) }) }] }), 'nested 18 deep');
});

test('keys: ids (negative, 2^63-1), names, incomplete, no partition, ancestors; deletes; request fields and defaults', () => {
  const keys = [
    key([{ kind: 'A', id: '1' }]),
    key([{ kind: 'A', id: '-7' }, { kind: 'B', name: 'é😀' }]),
    key([{ kind: 'A', id: '9223372036854775807' }, { kind: 'B' }]),
    key([{ kind: 'A', name: '' }], undefined),
    key([{ kind: 'A', id: '5' }], { projectId: 'p', databaseId: 'db', namespaceId: '' }),
    key([]),
  ];
  same(encode({ projectId: 'p', databaseId: 'db', mode: 'NON_TRANSACTIONAL', mutations: keys.map((k) => ({ delete: k })) }), 'deletes');
  same(encode({ projectId: 'p', mutations: keys.map((k) => ({ upsert: { key: k, properties: { r: { keyValue: k } } } })) }), 'keys as entities and values');
  same(encode({ projectId: 'p', mutations: [{ upsert: { properties: { a: { integerValue: '1' } } } }] }), 'an entity without a key');
  same(encode({}), 'an empty request');
  same(encode({ mode: 'TRANSACTIONAL', mutations: [] }), 'transactional, no mutations');
});

test('thousands of random entities, as the client library and as dspipe wire path encode them', () => {
  let n = 0;
  for (const seed of [1, 2, 3]) {
    const gen = randomEntities(seed);
    const entities: IEntity[] = Array.from({ length: 1000 }, (_, i) => gen.next(i));
    for (let i = 0; i < entities.length; i += 100) {
      const batch = entities.slice(i, i + 100);
      same(encode({ projectId: 'proj', mode: 'NON_TRANSACTIONAL', mutations: batch.map((upsert) => ({ upsert })) }), `seed ${seed} batch ${i} (client library)`);
      const mutations = batch.map((e) => lineToMutation(encodeEntity(e), 'upsert').bytes);
      same(commitRequestBytes('proj', '', mutations), `seed ${seed} batch ${i} (dspipe wire path)`);
      n += batch.length;
    }
  }
  assert.equal(n, 3000);
});

test('what the fast path leaves to proto-loader', () => {
  const e = entity({ a: { integerValue: '1' } });
  const cases: Array<[string, object]> = [
    ['a transaction', { projectId: 'p', mode: 'TRANSACTIONAL', transaction: Buffer.from('tx'), mutations: [{ upsert: e }] }],
    ['a single-use transaction', { projectId: 'p', singleUseTransaction: { readWrite: {} }, mutations: [{ upsert: e }] }],
    ['a base version', { projectId: 'p', mutations: [{ update: e, baseVersion: '5' }] }],
    ['an update time', { projectId: 'p', mutations: [{ update: e, updateTime: { seconds: '1', nanos: 0 } }] }],
    ['a property mask', { projectId: 'p', mutations: [{ update: e, propertyMask: { paths: ['a'] } }] }],
    ['property transforms', { projectId: 'p', mutations: [{ upsert: e, propertyTransforms: [{ property: 'a', increment: { integerValue: '1' } }] }] }],
    ['a conflict strategy', { projectId: 'p', mutations: [{ upsert: e, conflictResolutionStrategy: 'FAIL' }] }],
    ['a mutation without an operation', { projectId: 'p', mutations: [{}] }],
  ];
  for (const [label, request] of cases) assert.equal(decodeCommitRequest(encode(request)), undefined, label);

  const ok = encode({ projectId: 'p', mutations: [{ upsert: e }] });
  // a value with two fields of its oneof: proto-loader's to decide
  const two = encode({ projectId: 'p', mutations: [{ upsert: entity({ a: { integerValue: '1', stringValue: 'x' } as never }) }] });
  assert.equal(decodeCommitRequest(two), undefined, 'two value fields');
  // a string that is not UTF-8 (the property name 'a' made 0xff)
  const bad = Buffer.from(ok);
  const at = bad.indexOf(Buffer.from([0x0a, 0x01, 0x61]));
  assert.ok(at > 0);
  bad[at + 2] = 0xff;
  assert.equal(decodeCommitRequest(bad), undefined, 'invalid UTF-8');
  // a property named __proto__ (reserved: validation refuses it) must reach validation as a property
  const proto = encode({ projectId: 'proj', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: entity({ ['__proto__']: { integerValue: '1' }, b: { integerValue: '2' } }) }] });
  assert.equal(decodeCommitRequest(proto), undefined, 'a property named __proto__');
  const service = new DatastoreService(async () => (await import('../../src/emulator/query/index.js')) as QueryEngine);
  const method = services(service)[0]!.methods.get('Commit')!;
  assert.throws(() => method.handle(method.definition.requestDeserialize(proto) as never), /property name "__proto__" is reserved/);
  // malformed bytes: undefined, and proto-loader's error as before
  for (const cut of [1, 5, ok.length - 1]) {
    const truncated = ok.subarray(0, cut);
    assert.equal(decodeCommitRequest(truncated), undefined, `cut at ${cut}`);
  }
});

/**
 * The entities of a request as the service gets them, each with the property bytes handed over (or undefined),
 * after validation (which fills key values' projects, as the commit does before storing).
 */
function handedOver(bytes: Buffer, projectId: string): Array<{ properties: Record<string, IValue>; packed: Buffer | undefined } | 'refused'> {
  const request = decodeCommitRequest(bytes) as { mutations: Array<Record<string, { properties: Record<string, IValue> }>> } | undefined;
  assert.ok(request, 'decoded by the fast path');
  return request.mutations.map((m) => {
    const e = (m.upsert ?? m.insert ?? m.update)!;
    const packed = requestPacked(e);
    let asSent: boolean;
    try {
      asSent = validateProperties(e.properties, { projectId, databaseId: '' }, 'test');
    } catch {
      return 'refused'; // the commit refuses it: nothing is stored
    }
    // as commit.ts decides
    return { properties: e.properties, packed: asSent ? packed : undefined };
  });
}

test('property bytes go to the store as sent only when they are exactly what the emulator would encode', () => {
  let given = 0;
  let total = 0;
  const check = (bytes: Buffer, projectId: string, label: string): number => {
    let stored = 0;
    for (const [i, e] of handedOver(bytes, projectId).entries()) {
      if (e === 'refused') continue;
      total++;
      stored++;
      if (e.packed === undefined) continue;
      given++;
      assert.deepEqual(e.packed, encodeProperties(e.properties), `${label}, entity ${i}`);
    }
    return stored;
  };
  for (const [name, properties] of CORNER_CASES) check(encode({ projectId: 'proj', mutations: [{ upsert: entity(properties) }] }), 'proj', name);
  let wire = 0;
  let wireGiven = 0;
  for (const seed of [4, 5]) {
    const gen = randomEntities(seed);
    const entities: IEntity[] = Array.from({ length: 500 }, (_, i) => gen.next(i));
    for (let i = 0; i < entities.length; i += 100) {
      const batch = entities.slice(i, i + 100);
      check(encode({ projectId: 'proj', mutations: batch.map((upsert) => ({ upsert })) }), 'proj', `seed ${seed} batch ${i} (client library)`);
      const before = given;
      wire += check(commitRequestBytes('proj', '', batch.map((e) => lineToMutation(encodeEntity(e), 'upsert').bytes)), 'proj', `seed ${seed} batch ${i} (dspipe wire path)`);
      wireGiven += given - before;
    }
  }
  // not a test that passes by handing nothing over: most of what dspipe's restore sends (and the emulator stores) goes as it is
  assert.ok(wire > 200 && wireGiven > wire * 0.8, `dspipe's wire path: ${wireGiven} of ${wire} handed over`);
  assert.ok(given > total / 3, `${given} of ${total} handed over`);
});

/** A CommitRequest of one upsert of A/1 in project p, its properties written by `props`. */
function request(props: (w: MessageWriter) => void): Buffer {
  const w = new MessageWriter();
  w.string(8, 'p');
  const m = w.begin(6);
  const e = w.begin(6);
  const k = w.begin(1);
  const part = w.begin(1);
  w.string(2, 'p');
  w.end(part);
  const pe = w.begin(2);
  w.string(1, 'A');
  w.tag(2, 0);
  w.varint(1);
  w.end(pe);
  w.end(k);
  props(w);
  w.end(e);
  w.end(m);
  return Buffer.from(w.finish());
}

/** One property entry: name, then a value written by `body`. */
const prop = (w: MessageWriter, name: string, body: (w: MessageWriter) => void) => {
  const entry = w.begin(3);
  w.string(1, name);
  const v = w.begin(2);
  body(w);
  w.end(v);
  w.end(entry);
};
const int = (w: MessageWriter, n: number) => {
  w.tag(2, 0);
  w.varint(n);
};

test('property bytes in another form than the emulator writes are decoded and encoded again, never stored as sent', () => {
  const canonical = request((w) => {
    prop(w, 'a', (v) => int(v, 5));
    prop(w, 's', (v) => {
      v.tag(14, 0);
      v.varint(1); // ATOM_CATEGORY, a string's meaning
      v.string(17, 'x');
      v.tag(19, 0);
      v.varint(1);
    });
    prop(w, 'k', (v) => {
      const k = v.begin(5);
      const part = v.begin(1);
      v.string(2, 'p');
      v.end(part);
      const pe = v.begin(2);
      v.string(1, 'B');
      v.string(3, 'n');
      v.end(pe);
      v.end(k);
    });
  });
  const [ok] = handedOver(canonical, 'p');
  assert.ok(ok !== 'refused' && ok!.packed, 'the canonical form is handed over');
  assert.deepEqual(ok.packed, encodeProperties(ok.properties));

  const forms: Array<[string, (w: MessageWriter) => void]> = [
    ['a name given twice', (w) => (prop(w, 'a', (v) => int(v, 1)), prop(w, 'a', (v) => int(v, 2)))],
    ['an index-like name', (w) => prop(w, '7', (v) => int(v, 1))],
    ['excludeFromIndexes before the value', (w) => prop(w, 'a', (v) => (v.tag(19, 0), v.varint(1), int(v, 1)))],
    ['excludeFromIndexes: false written', (w) => prop(w, 'a', (v) => (int(v, 1), v.tag(19, 0), v.varint(0)))],
    ['meaning 0 written', (w) => prop(w, 'a', (v) => (int(v, 1), v.tag(14, 0), v.varint(0)))],
    ['meaning after a string value (field 14 after 17)', (w) => prop(w, 'a', (v) => (v.string(17, 'x'), v.tag(14, 0), v.varint(22)))],
    ['meaning after excludeFromIndexes', (w) => prop(w, 'a', (v) => (int(v, 1), v.tag(19, 0), v.varint(1), v.tag(14, 0), v.varint(9)))],
    ['a varint longer than it needs', (w) => prop(w, 'a', (v) => (v.tag(2, 0), v.byte(0x85), v.byte(0x00)))],
    ['a boolean of 2', (w) => prop(w, 'a', (v) => (v.tag(1, 0), v.varint(2)))],
    ['NaN', (w) => prop(w, 'a', (v) => v.double(3, NaN))],
    ['a timestamp with seconds 0 written', (w) => prop(w, 'a', (v) => { const t = v.begin(10); v.tag(1, 0); v.varint(0); v.end(t); })],
    ['a geo point with latitude +0 written', (w) => prop(w, 'a', (v) => { const g = v.begin(8); v.double(1, 0); v.end(g); })],
    ['a meaning Datastore drops (16 on an indexed blob)', (w) => prop(w, 'a', (v) => (v.tag(14, 0), v.varint(16), v.bytes(18, Buffer.from('x'))))],
    ['a key value without a project', (w) => prop(w, 'a', (v) => { const k = v.begin(5); const pe = v.begin(2); v.string(1, 'B'); v.string(3, 'n'); v.end(pe); v.end(k); })],
    ['an empty kind written', (w) => prop(w, 'a', (v) => { const k = v.begin(5); const part = v.begin(1); v.string(2, 'p'); v.end(part); const pe = v.begin(2); v.string(1, ''); v.string(3, 'n'); v.end(pe); v.end(k); })],
    ['a value with no type', (w) => prop(w, 'a', (v) => (v.tag(14, 0), v.varint(9)))],
    ['the value before the name', (w) => { const entry = w.begin(3); const v = w.begin(2); int(w, 1); w.end(v); w.string(1, 'a'); w.end(entry); }],
    ['an entity value whose key comes after its properties', (w) => prop(w, 'a', (v) => { const ev = v.begin(6); prop(v, 'x', (x) => int(x, 1)); const k = v.begin(1); const pe = v.begin(2); v.string(1, 'E'); v.end(pe); v.end(k); v.end(ev); })],
    ['an unknown field in an entry', (w) => { const entry = w.begin(3); w.string(1, 'a'); w.tag(9, 0); w.varint(1); const v = w.begin(2); int(w, 1); w.end(v); w.end(entry); }],
  ];
  for (const [label, body] of forms) {
    const bytes = request(body);
    const [e] = handedOver(bytes, 'p');
    assert.ok(e === 'refused' || e!.packed === undefined, label);
    // still decoded as proto-loader decodes it
    assert.deepStrictEqual(decodeCommitRequest(bytes), slow(bytes), label);
  }
});

