/**
 * The wire fast path against the object path, byte for byte, both ways
 * (issue 14): for the codec's hidden corners and thousands of random
 * entities,
 * - dump: RunQueryResponse bytes (as protobufjs and as dspipe's emulator
 *   write them) -> runQueryResponseToLines equals what the client library's
 *   decoding (proto-loader, google-gax's options) plus encodeEntity writes;
 * - restore: dump line -> lineToMutation equals protobufjs' encoding of the
 *   Mutation the object path builds (decodeEntity, key rewrite), less the
 *   proto3 defaults protobufjs writes because the objects set them; decoded,
 *   both are the same message.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { decodeEntity, encodeEntity } from '../../../src/format/entity-codec.js';
import { createKeyRewrite } from '../../../src/format/key-rewrite.js';
import { entityBytesToLine, runQueryResponseToLines } from '../../../src/format/wire/run-query-lines.js';
import { lineToMutation, type WireKeyRewrite } from '../../../src/format/wire/mutation.js';
import { commitRequestBytes, decodeCommitResponse } from '../../../src/format/wire/commit.js';
import { encodeRunQueryResponse } from '../../../src/emulator/wire.js';
import { isDspipeError } from '../../../src/errors.js';
import type { IEntity, IValue } from '../../../src/model/proto.js';
import { CORNER_CASES, entity, nested, randomEntities } from '../../fixtures/codec-corpus.js';

const require = createRequire(import.meta.url);
function packageRoot(name: string, entry: string): string {
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return join(dir, entry);
}
const definition = protoLoader.loadSync('google/datastore/v1/datastore.proto', {
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [packageRoot('google-gax', 'build/protos'), packageRoot('@google-cloud/datastore', 'build/protos')],
});
type Codec = protoLoader.MessageTypeDefinition<object, object>;
const RunQueryResponse = definition['google.datastore.v1.RunQueryResponse'] as Codec;
const Mutation = definition['google.datastore.v1.Mutation'] as Codec;
const CommitRequest = definition['google.datastore.v1.CommitRequest'] as Codec;
const CommitResponse = definition['google.datastore.v1.CommitResponse'] as Codec;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

/** The corpus: every corner case, then `n` random entities. */
function corpus(n: number, seed: number): IEntity[] {
  const out = CORNER_CASES.map(([, props]) => entity(props));
  out.push(entity({}), entity({ deep: nested(20) }));
  out.push(entity({ a: { stringValue: 'x' } }, { partitionId: { projectId: 'p', databaseId: 'db', namespaceId: 'ns' }, path: Array.from({ length: 100 }, (_, i) => ({ kind: `K${i}`, ...(i % 2 ? { name: `n${i}` } : { id: String(i + 1) }) })) }));
  const gen = randomEntities(seed);
  for (let e = 0; e < n; e++) out.push(gen.next(e));
  return out;
}

/** What the object path writes for a RunQueryResponse: proto-loader's decoding, then the codec. */
function objectLines(bytes: Buffer): string {
  const response = RunQueryResponse.deserialize(bytes) as Loose;
  return response.batch.entityResults.map((r: Loose) => encodeEntity(r.entity) + '\n').join('');
}

const READ_TIME = { seconds: '1764633600', nanos: 123456000 };

function response(entities: IEntity[]): object {
  return {
    batch: {
      entityResultType: 'FULL',
      entityResults: entities.map((e, i) => ({ entity: e, cursor: Buffer.from([i, 1, 2]), version: String(i + 1) })),
      endCursor: Buffer.from('cursor-after'),
      moreResults: 'NOT_FINISHED',
      readTime: READ_TIME,
    },
  };
}

describe('dump: RunQueryResponse bytes -> lines, as the object path writes them', () => {
  const all = corpus(3000, 11);
  // pages of 50, as a server would send them
  const pages: IEntity[][] = [];
  for (let i = 0; i < all.length; i += 50) pages.push(all.slice(i, i + 50));

  test(`${all.length} entities serialised by protobufjs`, () => {
    for (const page of pages) {
      const bytes = RunQueryResponse.serialize(response(page));
      const fast = runQueryResponseToLines(bytes);
      assert.equal(fast.lines.toString('utf8'), objectLines(bytes));
      assert.equal(fast.count, page.length);
      assert.deepEqual(fast.endCursor, Buffer.from('cursor-after'));
      assert.equal(fast.moreResults, 'NOT_FINISHED');
      assert.deepEqual(fast.readTime, READ_TIME);
    }
  });

  test(`${all.length} entities as dspipe's emulator writes them`, () => {
    for (const page of pages) {
      // the emulator writes what it stores: the proto-loader shape
      const stored = (RunQueryResponse.deserialize(RunQueryResponse.serialize(response(page))) as Loose);
      const bytes = encodeRunQueryResponse(stored)!;
      assert.ok(bytes, 'the emulator encodes the response');
      assert.equal(runQueryResponseToLines(bytes).lines.toString('utf8'), objectLines(bytes));
    }
  });

  test('properties out of order on the wire, and a name sent twice (the last wins), come out as the object path has them', () => {
    const props: Record<string, IValue> = {};
    for (const name of ['zeta', 'b', '😀', 'a', 'ä', 'B', 'b2']) props[name] = { stringValue: name };
    const stored = RunQueryResponse.deserialize(RunQueryResponse.serialize(response([entity(props)]))) as Loose;
    const bytes = encodeRunQueryResponse(stored)!;
    assert.equal(runQueryResponseToLines(bytes).lines.toString('utf8'), objectLines(bytes));
    // append a second entry for "b" inside the entity: protobuf says the last one wins
    const twice = RunQueryResponse.serialize(response([entity({ a: { integerValue: '1' }, b: { integerValue: '2' } })]));
    const merged = mergeEntityEntries(twice);
    assert.equal(runQueryResponseToLines(merged).lines.toString('utf8'), objectLines(merged));
    assert.match(runQueryResponseToLines(merged).lines.toString('utf8'), /"b":\{"integerValue":"3"\}/);
  });

  test('keys of another database are left out when asked (Google\'s legacy emulator mixes databases)', () => {
    const mine = entity({ a: { integerValue: '1' } }, { partitionId: { projectId: 'p', databaseId: 'db' }, path: [{ kind: 'K', id: '1' }] });
    const theirs = entity({ a: { integerValue: '2' } }, { partitionId: { projectId: 'p' }, path: [{ kind: 'K', id: '2' }] });
    const bytes = RunQueryResponse.serialize(response([mine, theirs, mine]));
    const page = runQueryResponseToLines(bytes, { databaseId: 'db' });
    assert.equal(page.count, 2);
    assert.equal(page.foreign, 1);
    assert.equal(page.lines.toString(), (encodeEntity(mine) + '\n').repeat(2));
  });

  test('an empty batch, the last one of a query', () => {
    const bytes = RunQueryResponse.serialize({ batch: { moreResults: 'NO_MORE_RESULTS', skippedResults: 3 } });
    const page = runQueryResponseToLines(bytes);
    assert.deepEqual([page.count, page.lines.length, page.moreResults, page.skippedResults, page.endCursor, page.readTime], [0, 0, 'NO_MORE_RESULTS', 3, undefined, undefined]);
  });

  test('what the object path refuses is refused with the same code and words', () => {
    const cases: Array<[string, object]> = [
      ['value sets no value type', { batch: { entityResults: [{ entity: { key: { path: [{ kind: 'K', id: '1' }] }, properties: { a: {} } } }] } }],
      ['has neither id nor name', { batch: { entityResults: [{ entity: { key: { path: [{ kind: 'K' }] } } }] } }],
      ['id 0 is invalid', { batch: { entityResults: [{ entity: { key: { path: [{ kind: 'K', id: '0' }] } } }] } }],
      ['entity has no key', { batch: { entityResults: [{ entity: { properties: {} } }] } }],
    ];
    for (const [words, message] of cases) {
      const bytes = RunQueryResponse.serialize(message);
      const fast = (() => { try { runQueryResponseToLines(bytes); } catch (err) { return err; } return undefined; })() as Loose;
      const object = (() => { try { objectLines(bytes); } catch (err) { return err; } return undefined; })() as Loose;
      assert.ok(isDspipeError(fast, 'DSPIPE_REJECTED_ENTITY'), `${words}: ${fast}`);
      assert.ok(isDspipeError(object, 'DSPIPE_REJECTED_ENTITY'));
      assert.match(fast.message, new RegExp(words));
      assert.match(object.message, new RegExp(words));
    }
  });
});

/** `a`'s first entity with one more properties entry, b = integerValue 3, appended (a map key repeated on the wire). */
function mergeEntityEntries(a: Buffer): Buffer {
  const r = RunQueryResponse.deserialize(a) as Loose;
  const first = Buffer.from((definition['google.datastore.v1.Entity'] as Codec).serialize(r.batch.entityResults[0].entity));
  return wrapEntity(Buffer.concat([first, Buffer.from([0x1a, 0x07, 0x0a, 0x01, 0x62, 0x12, 0x02, 0x10, 0x03])]));
}

/** RunQueryResponse{batch{entity_results[{entity: <raw bytes>}]}} around raw Entity bytes. */
function wrapEntity(entityBytes: Buffer): Buffer {
  const len = (n: number) => { const out: number[] = []; while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; } out.push(n); return Buffer.from(out); };
  const result = Buffer.concat([Buffer.from([0x0a]), len(entityBytes.length), entityBytes]);
  const batch = Buffer.concat([Buffer.from([0x12]), len(result.length), result]);
  return Buffer.concat([Buffer.from([0x0a]), len(batch.length), batch]);
}

/** The object path's message less the defaults protobufjs writes only because the objects set them. */
function withoutDefaults(x: Loose): Loose {
  if (Array.isArray(x)) return x.map(withoutDefaults);
  if (x === null || typeof x !== 'object' || Buffer.isBuffer(x)) return x;
  const out: Loose = {};
  for (const [k, v] of Object.entries(x)) {
    if (k === 'meaning' && v === 0) continue;
    if (k === 'excludeFromIndexes' && v === false) continue;
    if ((k === 'projectId' || k === 'databaseId' || k === 'namespaceId') && v === '') continue;
    if ((k === 'latitude' || k === 'longitude') && Object.is(v, 0)) continue;
    if (k === 'seconds' && (v === '0' || v === 0)) continue;
    if (k === 'nanos' && v === 0) continue;
    if (k === 'valueType' || k === 'idType') continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([n, pv]) => [n, withoutDefaults(pv)])) : withoutDefaults(v);
  }
  return out;
}

function objectMutation(line: string, rewrite: WireKeyRewrite | undefined): { canonical: Buffer; asSent: Buffer; entity: IEntity } {
  let e = decodeEntity(line);
  const rw = rewrite && createKeyRewrite({ target: rewrite.target, ...(rewrite.source && { source: rewrite.source }), ...(rewrite.namespaceMap && { namespaceMap: rewrite.namespaceMap }) });
  if (rw) e = rw(e);
  return { canonical: Mutation.serialize({ upsert: withoutDefaults(e) }), asSent: Mutation.serialize({ upsert: e }), entity: e };
}

describe('restore: dump line -> Mutation bytes, as the object path sends them', () => {
  const all = corpus(3000, 23).map((e) => encodeEntity(e));
  const rewrites: Array<[string, WireKeyRewrite | undefined]> = [
    ['no key rewriting', undefined],
    ['to another project and database', { target: { projectId: 'other', databaseId: 'db2' } }],
    ['with the source named and a namespace map', { target: { projectId: 'proj', databaseId: 'db' }, source: { projectId: 'proj', databaseId: '' }, namespaceMap: new Map([['', 'moved'], ['ns', '']]) }],
    ['key values into the source project (source from each key)', { target: { projectId: 't', databaseId: '' }, namespaceMap: new Map([['ns', 'n2']]) }],
  ];
  for (const [name, rewrite] of rewrites) {
    test(`${all.length} lines, ${name}`, () => {
      for (const line of all) {
        const fast = lineToMutation(line, 'upsert', rewrite);
        const object = objectMutation(line, rewrite);
        assert.deepEqual(fast.bytes, object.canonical, line.slice(0, 200));
        // the same message as the object path sends, defaults and all
        assert.deepStrictEqual(Mutation.deserialize(fast.bytes), Mutation.deserialize(object.asSent));
        assert.deepStrictEqual(fast.key, { ...object.entity.key, path: fast.key.path } as Loose);
        // and back: the Mutation's entity is the rewritten entity's line
        const entityBytes = Buffer.from((definition['google.datastore.v1.Entity'] as Codec).serialize((Mutation.deserialize(fast.bytes) as Loose).upsert));
        assert.equal(entityBytesToLine(entityBytes).toString('utf8'), encodeEntity(object.entity));
      }
    });
  }

  test('insert and update mutations', () => {
    const line = all[5]!;
    for (const op of ['insert', 'update'] as const) {
      assert.deepEqual(lineToMutation(line, op).bytes, Mutation.serialize({ [op]: withoutDefaults(decodeEntity(line)) }));
    }
  });

  test('a line the codec refuses fails with the codec\'s error', () => {
    const k = '"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":""},"path":[{"kind":"K","id":"1"}]}';
    const bad = [
      `{${k},"properties":{"a":{"integerValue":1}}}`,
      `{${k},"properties":{"a":{"blobValue":"abc"}}}`,
      `{${k},"properties":{"a":{"stringValue":"x","doubleValue":1}}}`,
      `{${k},"properties":{"a":{"timestampValue":"2020-01-01T00:00:00Z"},"b":{"keyValue":{"path":[]}}}}`,
      `{"key":{"partitionId":null,"path":[{"kind":"K","id":"1"}]}}`,
      `{"key":{"path":[{"kind":"K"}]}}`,
      `{${k},"properties":{"a":{"stringValue":"\\ud800"}}}`,
      `{${k},"extra":1}`,
      `{${k}`,
      `[]`,
    ];
    for (const line of bad) {
      let expected: unknown;
      try {
        decodeEntity(line, { file: 'f.ndjson', line: 9 });
      } catch (err) {
        expected = err;
      }
      let actual: unknown;
      try {
        lineToMutation(line, 'upsert', undefined, { file: 'f.ndjson', line: 9 });
      } catch (err) {
        actual = err;
      }
      if (expected === undefined) {
        assert.equal(actual, undefined, line);
        continue;
      }
      assert.ok(isDspipeError(actual), line);
      assert.equal((actual as Error).message, (expected as Error).message, line);
      assert.deepEqual({ ...(actual as object) }, { ...(expected as object) }, line);
    }
  });

  test('a CommitRequest assembled from mutation bytes is the one protobufjs writes', () => {
    const lines = all.slice(0, 40);
    const mutations = lines.map((l) => lineToMutation(l, 'upsert').bytes);
    for (const [projectId, databaseId] of [['proj', ''], ['proj', 'named-db']] as const) {
      const fast = commitRequestBytes(projectId, databaseId, mutations);
      const object = CommitRequest.serialize({
        mode: 'NON_TRANSACTIONAL',
        mutations: lines.map((l) => ({ upsert: withoutDefaults(decodeEntity(l)) })),
        projectId,
        ...(databaseId !== '' && { databaseId }),
      });
      assert.deepEqual(fast, object);
    }
  });

  test('a CommitResponse: conflicts per mutation and index updates', () => {
    const bytes = CommitResponse.serialize({
      mutationResults: [{ version: '5' }, { conflictDetected: true, key: { path: [{ kind: 'K', id: '1' }] } }, {}],
      indexUpdates: 17,
      commitTime: READ_TIME,
    });
    assert.deepEqual(decodeCommitResponse(bytes), { conflicts: [false, true, false], indexUpdates: 17 });
  });
});

describe('malformed wire data is a DSPIPE_ error, never a crash or a wrong line', () => {
  const page = corpus(40, 5).slice(0, 60);
  const bytes = RunQueryResponse.serialize(response(page));

  test('cut at every byte: truncated varints and lengths past the end', () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.throws(() => runQueryResponseToLines(bytes.subarray(0, cut)), (err) => isDspipeError(err, 'DSPIPE_RPC_FAILED') && /at byte \d+/.test((err as Error).message), `cut at ${cut}`);
    }
  });

  test('a wrong wire type, a varint over 10 bytes, a group', () => {
    // batch (field 1) sent as a varint
    assert.throws(() => runQueryResponseToLines(Buffer.from([0x08, 0x01])), /field 1 has wire type varint, expected length-delimited/);
    // an integerValue sent as fixed64
    const value = Buffer.from([0x11, 1, 2, 3, 4, 5, 6, 7, 8]);
    const entry = Buffer.concat([Buffer.from([0x0a, 1, 0x61, 0x12, value.length]), value]);
    const key = Buffer.from([0x12, 5, 0x0a, 1, 0x4b, 0x10, 1]);
    const ent = Buffer.concat([Buffer.from([0x0a, key.length]), key, Buffer.from([0x1a, entry.length]), entry]);
    assert.throws(() => runQueryResponseToLines(wrapEntity(ent)), (err) => isDspipeError(err, 'DSPIPE_RPC_FAILED') && /Value field 2 has wire type fixed64/.test((err as Error).message) && (err as Loose).path === 'a');
    assert.throws(() => runQueryResponseToLines(Buffer.from([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /varint longer than 10 bytes/);
    assert.throws(() => runQueryResponseToLines(Buffer.from([0x13, 0x14])), /unexpected wire type start-group/);
    assert.throws(() => decodeCommitResponse(Buffer.from([0x1a, 0x05, 0x28])), (err) => isDspipeError(err, 'DSPIPE_RPC_FAILED'));
  });

  test('random corruption: a DSPIPE_ error or lines that are valid JSON, never another exception', () => {
    let seed = 99;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 3000; i++) {
      const broken = Buffer.from(bytes);
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) broken[Math.floor(rand() * broken.length)] = Math.floor(rand() * 256);
      try {
        const out = runQueryResponseToLines(broken);
        for (const line of out.lines.toString('utf8').split('\n').slice(0, -1)) decodeEntity(line);
      } catch (err) {
        assert.ok(isDspipeError(err), `corruption ${i}: ${(err as Error).stack}`);
      }
    }
  });
});
