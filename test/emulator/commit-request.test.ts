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
import { decodeCommitRequest } from '../../src/emulator/commit-request.js';
import { serviceDefinition } from '../../src/emulator/server.js';
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
  // malformed bytes: undefined, and proto-loader's error as before
  for (const cut of [1, 5, ok.length - 1]) {
    const truncated = ok.subarray(0, cut);
    assert.equal(decodeCommitRequest(truncated), undefined, `cut at ${cut}`);
  }
});
