import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { decodeEntity } from '../../src/format/entity-codec.js';
import type { IEntity } from '../../src/model/proto.js';
import { BatchAccumulator, DEFAULT_MAX_BATCH_BYTES, mutationBytes, splitByBytes, type WriteOp } from '../../src/format/batching.js';
import { MAX_REQUEST_BYTES } from '../../src/model/limits.js';

const require = createRequire(import.meta.url);
const { google } = require('@google-cloud/datastore/build/protos/protos.js') as typeof import('@google-cloud/datastore/build/protos/protos.js');
const { CommitRequest, Mutation } = google.datastore.v1;

/** What protobufjs itself writes for the op inside a CommitRequest (field 6, tag and length included). */
function encodedSize(op: WriteOp): number {
  const m: Record<string, unknown> = {};
  if (op.op === 'delete') m.delete = op.key;
  else m[op.op] = op.entity;
  if (op.baseVersion !== undefined) m.baseVersion = op.baseVersion;
  const withOne = CommitRequest.encode(CommitRequest.fromObject({ mutations: [m] })).finish().length;
  return withOne;
}

const P = '"partitionId":{"projectId":"proj","databaseId":"db","namespaceId":"ns"}';
const LINES = [
  `{"key":{${P},"path":[{"kind":"K","id":"1"}]},"properties":{}}`,
  `{"key":{${P},"path":[{"kind":"Parent","id":"9223372036854775807"},{"kind":"Child","name":"ünï©ødé"}]},"properties":{"a":{"integerValue":"-5"},"b":{"integerValue":"0"},"c":{"integerValue":"300"},"d":{"doubleValue":0},"e":{"doubleValue":"NaN"},"f":{"booleanValue":false},"g":{"nullValue":null},"h":{"stringValue":""},"i":{"stringValue":"x","excludeFromIndexes":true},"j":{"blobValue":"AAEC/w==","meaning":22},"k":{"timestampValue":"1970-01-01T00:00:00Z"},"l":{"timestampValue":"1969-12-31T23:59:59.999999Z"},"m":{"geoPointValue":{"latitude":0,"longitude":-122.5}},"n":{"keyValue":{"partitionId":{"projectId":"other","databaseId":"","namespaceId":""},"path":[{"kind":"X","name":"y"}]}},"o":{"arrayValue":{}},"p":{"arrayValue":{"values":[{"integerValue":"1"},{"stringValue":"two"},{"entityValue":{"properties":{"q":{"booleanValue":true}}}}]}},"r":{"entityValue":{"key":{${P},"path":[{"kind":"E","id":"3"}]},"properties":{"s":{"stringValue":"${'z'.repeat(200)}","meaning":-1}}}}}}`,
  `{"key":{"partitionId":{"projectId":"","databaseId":"","namespaceId":""},"path":[{"kind":"K","name":"n"}]},"properties":{"big":{"stringValue":"${'x'.repeat(70000)}","excludeFromIndexes":true}}}`,
];

describe('mutationBytes matches protobufjs encoding', () => {
  LINES.forEach((line, i) => {
    const entity = decodeEntity(line);
    for (const op of ['upsert', 'insert', 'update'] as const) {
      test(`line ${i + 1} as ${op}`, () => {
        assert.equal(mutationBytes({ op, entity }), encodedSize({ op, entity }));
      });
    }
    test(`line ${i + 1} as delete with baseVersion`, () => {
      const op: WriteOp = { op: 'delete', key: entity.key!, baseVersion: '1700000000000000' };
      assert.equal(mutationBytes(op), encodedSize(op));
    });
  });

  test('request-shaped entities (no valueType, numbers, Buffers) too', () => {
    const entity: IEntity = {
      key: { partitionId: { projectId: 'p' }, path: [{ kind: 'K', id: 12345678901 }] },
      properties: {
        n: { integerValue: 7 },
        b: { blobValue: Buffer.alloc(1000, 1) },
        t: { timestampValue: { seconds: 1700000000, nanos: 5000 } },
        z: { nullValue: 'NULL_VALUE' },
      },
    };
    const op: WriteOp = { op: 'upsert', entity, baseVersion: '3' };
    assert.equal(mutationBytes(op), encodedSize(op));
  });

  test('a batch of sizes adds up to the encoded request', () => {
    const ops = LINES.map((l) => ({ op: 'upsert' as const, entity: decodeEntity(l) }));
    const total = ops.reduce((s, op) => s + mutationBytes(op), 0);
    const encoded = CommitRequest.encode(CommitRequest.fromObject({ mutations: ops.map((o) => ({ upsert: o.entity })) })).finish().length;
    assert.equal(total, encoded);
    assert.ok(Mutation); // the type exists in this protobufjs build
  });
});

describe('BatchAccumulator', () => {
  const op = (id: number, pad = 0): WriteOp => ({
    op: 'upsert',
    entity: { key: { partitionId: { projectId: 'p' }, path: [{ kind: 'K', id: String(id) }] }, properties: pad ? { s: { stringValue: 'x'.repeat(pad), excludeFromIndexes: true } } : {} },
  });

  test('defaults stay under the 10 MiB request limit with a margin', () => {
    assert.ok(DEFAULT_MAX_BATCH_BYTES < MAX_REQUEST_BYTES - 512 * 1024);
  });

  test('closes by count', () => {
    const acc = new BatchAccumulator({ maxBytes: 1e9, maxOps: 3 });
    const out = [1, 2, 3, 4, 5, 6, 7].map((i) => acc.add(op(i))).filter(Boolean);
    assert.deepEqual(out.map((b) => b!.length), [3, 3]);
    assert.equal(acc.take()!.length, 1);
    assert.equal(acc.take(), undefined);
  });

  test('closes by bytes, never exceeding maxBytes with more than one op', () => {
    const acc = new BatchAccumulator({ maxBytes: 10_000, maxOps: 1000 });
    const batches: WriteOp[][] = [];
    for (let i = 1; i <= 50; i++) {
      const b = acc.add(op(i, 900 + i * 10));
      if (b) batches.push(b);
    }
    batches.push(acc.take()!);
    assert.equal(batches.flat().length, 50);
    for (const b of batches) {
      const bytes = b.reduce((s, o) => s + mutationBytes(o), 0);
      assert.ok(bytes <= 10_000, `batch of ${bytes} bytes`);
    }
    assert.ok(batches.length > 5);
  });

  test('an op larger than maxBytes travels alone', () => {
    const acc = new BatchAccumulator({ maxBytes: 1000, maxOps: 1000 });
    assert.equal(acc.add(op(1)), undefined);
    assert.deepEqual(acc.add(op(2, 5000))!.length, 1);
    assert.deepEqual(acc.add(op(3))!.length, 1);
    assert.equal(acc.take()!.length, 1);
  });

  test('a repeated key starts a new batch (NON_TRANSACTIONAL commits may not touch an entity twice)', () => {
    const acc = new BatchAccumulator({ maxBytes: 1e9, maxOps: 100 });
    assert.equal(acc.add(op(1)), undefined);
    assert.equal(acc.add(op(2)), undefined);
    assert.equal(acc.add(op(1))!.length, 2);
    assert.equal(acc.pendingOps, 1);
  });

  test('maxOps 1 gives one op per batch', () => {
    const acc = new BatchAccumulator({ maxBytes: 100, maxOps: 1 });
    assert.equal(acc.add(op(1, 500))!.length, 1);
    assert.equal(acc.add(op(2))!.length, 1);
    assert.equal(acc.take(), undefined);
  });

  test('splitByBytes cuts a batch into runs under the budget, in order; an op over it alone', () => {
    const ops = [op(1, 400), op(2, 400), op(3, 5000), op(4, 10), op(5, 400)];
    const size = (o: WriteOp) => mutationBytes(o);
    const budget = size(ops[0]!) + size(ops[1]!);
    const runs = splitByBytes(ops, budget);
    assert.deepEqual(runs, [[ops[0], ops[1]], [ops[2]], [ops[3], ops[4]]]);
    for (const run of runs) assert.ok(run.length === 1 || run.reduce((n, o) => n + size(o), 0) <= budget);
    assert.deepEqual(splitByBytes(ops, Infinity), [ops]);
    assert.deepEqual(splitByBytes([], 10), []);
  });
});
