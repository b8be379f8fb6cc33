import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createIdReserver, REMEMBER_ANCESTORS } from '../../src/stages/id-reserver.js';
import { IdAllocator } from '../../src/emulator/ids.js';
import { requestBase, type DatastoreClient } from '../../src/datastore/connection.js';
import type { IEntity, IKey } from '../../src/model/proto.js';
import { keyIdentity, type WriteOp } from '../../src/format/batching.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { lineToMutation } from '../../src/format/wire/mutation.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';
import type { DspipeError } from '../../src/errors.js';
import { collect, recordEvents, tick } from './restore-stream-helpers.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator({ projectId: 'r' });
});
after(() => t.close());

test('idReserver passes entities through in order and reserves every numeric id, ancestors once', async () => {
  const alloc = new IdAllocator();
  const ids = Array.from({ length: 12 }, () => alloc.allocate(() => false));
  const key = (ns: string, ...path: Array<[string, string]>): IKey => ({
    partitionId: { projectId: 'r', databaseId: '', namespaceId: ns },
    path: path.map(([kind, id]) => (/^\d+$/.test(id) ? { kind, id } : { kind, name: id })),
  });
  const entities: IEntity[] = [
    ...ids.slice(0, 5).map((id) => ({ key: key('', ['P', ids[11]!], ['C', id]), properties: {} })),
    ...ids.slice(5, 10).map((id) => ({ key: key('n', ['Q', id]), properties: {} })),
    { key: key('', ['N', 'named']), properties: {} },
  ];
  const r = createIdReserver(t.client, t.connection, { batchSize: 3 });
  const events = recordEvents(r);
  const sink = collect<IEntity>();
  await pipeline(Readable.from(entities), r, sink);
  await tick();
  assert.deepEqual(sink.items, entities);
  assert.equal(r.reserved, 11, '5 children + 1 shared parent + 5 in another namespace');
  assert.ok(r.calls >= 4);
  assert.deepEqual([events.get('end'), events.get('close'), events.get('error')], [1, 1, undefined]);
  const [res] = await t.client.allocateIds({ ...requestBase(t.connection), keys: Array.from({ length: 40 }, () => ({ partitionId: { projectId: 'r', namespaceId: '' }, path: [{ kind: 'Any' }] })) });
  const given = new Set((res.keys ?? []).map((k: IKey) => String(k.path!.at(-1)!.id)));
  for (const id of ids.slice(0, 12).filter((_, i) => i !== 10)) assert.ok(!given.has(id), `id ${id} was allocated again`);
});

test('idReserver destroyed mid-stream rejects the pipeline', async () => {
  const r = createIdReserver(t.client, t.connection);
  const source = new Readable({ objectMode: true, read() {} });
  const p = pipeline(source, r, collect());
  await tick();
  r.destroy();
  await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
});

test('idReserver: a ReserveIds failure fails the stream before the entities it holds pass on', async () => {
  const failing = await startTestEmulator({ projectId: 'r', faults: { rate: 1, seed: 1, codes: [7] } });
  try {
    const r = createIdReserver(failing.client, failing.connection, { batchSize: 2 });
    const sink = collect<IEntity>();
    const entities: IEntity[] = Array.from({ length: 6 }, (_, i) => ({ key: { partitionId: { projectId: 'r' }, path: [{ kind: 'K', id: String(i + 1) }] }, properties: {} }));
    await assert.rejects(pipeline(Readable.from(entities), r, sink), (err: unknown) => (err as { code?: string }).code === 'DSPIPE_RPC_FAILED');
    assert.equal(sink.items.length, 0);
  } finally {
    await failing.close();
  }
});

test('idReserver: with more parents than it remembers, every id is still reserved before its entity passes on', async () => {
  // The real client, with each answered ReserveIds recorded: what Datastore has been told, when.
  const answered = new Set<string>();
  const client = new Proxy(t.client, {
    get(target, prop, receiver) {
      if (prop !== 'reserveIds') return Reflect.get(target, prop, receiver);
      return async (request: { keys?: IKey[] }, options: unknown) => {
        const result = await (target.reserveIds as (r: unknown, o: unknown) => Promise<unknown>)(request, options);
        for (const k of request.keys ?? []) answered.add(keyIdentity(k));
        return result;
      };
    },
  }) as DatastoreClient;
  const parents = REMEMBER_ANCESTORS + 1000;
  const at = (...path: Array<[string, number]>): IKey => ({ partitionId: { projectId: 'r', databaseId: '', namespaceId: '' }, path: path.map(([kind, id]) => ({ kind, id: String(id) })) });
  const entities: IEntity[] = [];
  for (let p = 1; p <= parents; p++) for (let c = 1; c <= 2; c++) entities.push({ key: at(['P', p], ['C', p * 10 + c]), properties: {} });
  // the first parent again, long after it was forgotten
  entities.push({ key: at(['P', 1], ['C', 5]), properties: {} });
  const prefixes = (key: IKey) => key.path!.map((_, i) => keyIdentity({ ...key, path: key.path!.slice(0, i + 1) }));
  const r = createIdReserver(client, t.connection);
  let late = 0;
  let passed = 0;
  let most = 0;
  const sink = new Writable({
    objectMode: true,
    write(e: IEntity, _enc, cb) {
      passed++;
      most = Math.max(most, r.remembered);
      if (!prefixes(e.key!).every((id) => answered.has(id))) late++;
      cb();
    },
  });
  await pipeline(Readable.from(entities), r, sink);
  assert.equal(passed, entities.length);
  assert.equal(late, 0, 'no entity passed on before every id of its key was reserved');
  for (const e of entities) for (const id of prefixes(e.key!)) assert.ok(answered.has(id), id);
  assert.ok(most <= REMEMBER_ANCESTORS, `remembered ${most}`);
  // each parent once while remembered, the forgotten first parent once more; every child once
  assert.equal(r.reserved, parents + 1 + 2 * parents + 1);
});

test('idReserver: reserved entities wait in it, not in its output buffer, while the next stage is busy', async () => {
  const entities: IEntity[] = Array.from({ length: 2000 }, (_, i) => ({ key: { partitionId: { projectId: 'r' }, path: [{ kind: 'B', id: String(i + 1) }] }, properties: {} }));
  const r = createIdReserver(t.client, t.connection, { batchSize: 500 });
  // a source that stays open, as a long file does: nothing is flushed at its end yet
  const source = new Readable({ objectMode: true, read() {} });
  for (const e of entities) source.push(e);
  source.pipe(r);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(r.calls >= 1, 'ids were reserved meanwhile');
  assert.ok(r.readableLength <= r.readableHighWaterMark, `${r.readableLength} entities buffered for a reader that does not read`);
  source.push(null);
  const out: IEntity[] = [];
  for await (const e of r) out.push(e as IEntity);
  assert.deepEqual(out, entities);
});

test('idReserver: a call refused for its keys is narrowed by halves to the ids refused; the rest are reserved, every entity passes on', async () => {
  // The real client, refusing (as Firestore's emulator does: UNKNOWN, no message) any call that carries an id ending in 7.
  const calls: string[][] = [];
  const client = new Proxy(t.client, {
    get(target, prop, receiver) {
      if (prop !== 'reserveIds') return Reflect.get(target, prop, receiver);
      return async (request: { keys?: IKey[] }, options: unknown) => {
        const ids = (request.keys ?? []).map((k) => String(k.path!.at(-1)!.id));
        calls.push(ids);
        if (ids.some((id) => id.endsWith('7'))) throw Object.assign(new Error('2 UNKNOWN: '), { code: 2, details: '' });
        return (target.reserveIds as (r: unknown, o: unknown) => Promise<unknown>)(request, options);
      };
    },
  }) as DatastoreClient;
  const entities: IEntity[] = Array.from({ length: 20 }, (_, i) => ({ key: { partitionId: { projectId: 'r', namespaceId: 'n' }, path: [{ kind: 'N', id: String(100 + i) }] }, properties: {} }));
  const unreserved: Array<[IKey, DspipeError]> = [];
  const r = createIdReserver(client, t.connection, { batchSize: 8, onUnreserved: (key, error) => void unreserved.push([key, error]) });
  const sink = collect<IEntity>();
  await pipeline(Readable.from(entities), r, sink);
  assert.deepEqual(sink.items, entities);
  // batches are reserved concurrently: refusals arrive in any order
  unreserved.sort(([a], [b]) => String(a.path![0]!.id).localeCompare(String(b.path![0]!.id)));
  assert.deepEqual(unreserved.map(([k]) => String(k.path!.at(-1)!.id)), ['107', '117']);
  const [, error] = unreserved[0]!;
  assert.equal(error.code, 'DSPIPE_ID_NOT_RESERVED');
  assert.deepEqual([error.key, error.kind, error.namespace], ['N(107) in namespace "n"', 'N', 'n']);
  assert.match(error.message, /refused id 107: gRPC code 2 with no message/);
  assert.deepEqual([r.reserved, r.unreserved], [18, 2]);
  // each refused batch of 8 costs 2·log2(8) more calls, not one per key
  assert.ok(calls.length <= 3 + 2 * 2 * 3, `${calls.length} calls`);
  assert.ok(calls.every((ids) => ids.length <= 8));
});

// --- the wire path: WriteOps whose Mutation is encoded already, ids reserved through the raw transport

/** What ReserveIds calls carry, decoded: each call's keys as identities. */
function reserveIdsKeys(bytes: Buffer): IKey[] {
  return (ReserveIdsRequest.deserialize(bytes) as { keys?: IKey[] }).keys ?? [];
}
const require = createRequire(import.meta.url);
function packageRoot(name: string, entry: string): string {
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return join(dir, entry);
}
const ReserveIdsRequest = protoLoader.loadSync('google/datastore/v1/datastore.proto', {
  keepCase: false, longs: String, enums: String, defaults: false, oneofs: false,
  includeDirs: [packageRoot('google-gax', 'build/protos'), packageRoot('@google-cloud/datastore', 'build/protos')],
})['google.datastore.v1.ReserveIdsRequest'] as protoLoader.MessageTypeDefinition<object, object>;

/** A key's identity with its partition filled in as Datastore reads it (absent fields are empty). */
const identity = (k: IKey): string => keyIdentity({ ...k, partitionId: { projectId: k.partitionId?.projectId ?? '', databaseId: k.partitionId?.databaseId ?? '', namespaceId: k.partitionId?.namespaceId ?? '' } });

const wireOp = (e: IEntity): WriteOp => {
  const m = lineToMutation(encodeEntity(e), 'upsert');
  return { op: 'upsert', key: m.key, wire: m.bytes };
};

test('idReserver, wire ops: the ids cut from Mutation bytes are the ones the object path reserves, through the raw transport', async () => {
  const alloc = new IdAllocator();
  const ids = Array.from({ length: 12 }, () => alloc.allocate(() => false));
  const key = (ns: string, ...path: Array<[string, string]>): IKey => ({
    partitionId: { projectId: 'r', databaseId: '', namespaceId: ns },
    path: path.map(([kind, id]) => (/^\d+$/.test(id) ? { kind, id } : { kind, name: id })),
  });
  const entities: IEntity[] = [
    ...ids.slice(0, 5).map((id) => ({ key: key('', ['P', ids[11]!], ['C', id]), properties: { a: { stringValue: 'x' } } })),
    ...ids.slice(5, 9).map((id) => ({ key: key('n', ['Q', id]), properties: {} })),
    { key: key('n', ['G', 'named'], ['Q', ids[9]!], ['N', 'leaf']), properties: {} },
    { key: key('', ['N', 'named']), properties: {} },
  ];
  const ops = entities.map(wireOp);
  const transport = createRawTransport(t.client, t.connection)!;
  const raw: string[] = [];
  const recording = { ...transport, reserveIds: (b: Buffer, o?: object) => (raw.push(...reserveIdsKeys(b).map(identity)), transport.reserveIds(b, o)) };
  const clientCalls: string[] = [];
  const client = new Proxy(t.client, {
    get(target, prop, receiver) {
      if (prop !== 'reserveIds') return Reflect.get(target, prop, receiver);
      return (request: { keys?: IKey[] }, options: unknown) => {
        clientCalls.push(...(request.keys ?? []).map(identity));
        return (target.reserveIds as (r: unknown, o: unknown) => Promise<unknown>)(request, options);
      };
    },
  }) as DatastoreClient;
  const wire = createIdReserver(client, t.connection, { batchSize: 3, transport: recording });
  const sink = collect<WriteOp>();
  await pipeline(Readable.from(ops), wire, sink);
  assert.deepEqual(sink.items, ops);
  assert.deepEqual(clientCalls, [], 'nothing went through the client');
  // the object path over the same ops (no transport)
  const objectKeys: string[] = [];
  const objectClient = new Proxy(t.client, {
    get(target, prop, receiver) {
      if (prop !== 'reserveIds') return Reflect.get(target, prop, receiver);
      return (request: { keys?: IKey[] }, options: unknown) => {
        objectKeys.push(...(request.keys ?? []).map(identity));
        return (target.reserveIds as (r: unknown, o: unknown) => Promise<unknown>)(request, options);
      };
    },
  }) as DatastoreClient;
  const object = createIdReserver(objectClient, t.connection, { batchSize: 3 });
  await pipeline(Readable.from(ops), object, collect<WriteOp>());
  assert.deepEqual(raw.sort(), objectKeys.sort());
  assert.equal(wire.reserved, 11, '5 children + 1 shared parent + 4 in another namespace + 1 under a named ancestor');
  assert.equal(wire.reserved, object.reserved);
  // and the emulator holds them reserved: AllocateIds never hands one out
  const [allocated] = await t.client.allocateIds({ ...requestBase(t.connection), keys: Array.from({ length: 50 }, () => ({ partitionId: { projectId: 'r', namespaceId: 'n' }, path: [{ kind: 'Q' }] })) });
  const given = new Set((allocated.keys ?? []).map((k: IKey) => String(k.path!.at(-1)!.id)));
  for (const id of ids.slice(5, 9)) assert.ok(!given.has(id), `allocated reserved id ${id}`);
});

test('idReserver, wire ops: a raw call refused for its keys is narrowed by halves, the refused keys reported as on the object path', async () => {
  const transport = createRawTransport(t.client, t.connection)!;
  let calls = 0;
  const refusing = {
    ...transport,
    reserveIds: async (b: Buffer, o?: object) => {
      calls++;
      if (reserveIdsKeys(b).some((k) => String(k.path!.at(-1)!.id).endsWith('7'))) throw Object.assign(new Error('2 UNKNOWN: '), { code: 2, details: '' });
      return transport.reserveIds(b, o);
    },
  };
  const entities: IEntity[] = Array.from({ length: 20 }, (_, i) => ({ key: { partitionId: { projectId: 'r', databaseId: '', namespaceId: 'n' }, path: [{ kind: 'N', id: String(100 + i) }] }, properties: {} }));
  const ops = entities.map(wireOp);
  const unreserved: Array<[IKey, DspipeError]> = [];
  const r = createIdReserver(t.client, t.connection, { batchSize: 8, transport: refusing, onUnreserved: (key, error) => void unreserved.push([key, error]) });
  const sink = collect<WriteOp>();
  await pipeline(Readable.from(ops), r, sink);
  assert.deepEqual(sink.items, ops);
  unreserved.sort(([a], [b]) => String(a.path![0]!.id).localeCompare(String(b.path![0]!.id)));
  assert.deepEqual(unreserved.map(([k]) => k), ['107', '117'].map((id) => ({ partitionId: { projectId: 'r', databaseId: '', namespaceId: 'n' }, path: [{ kind: 'N', id }] })));
  const [, error] = unreserved[0]!;
  assert.equal(error.code, 'DSPIPE_ID_NOT_RESERVED');
  assert.deepEqual([error.key, error.kind, error.namespace], ['N(107) in namespace "n"', 'N', 'n']);
  assert.match(error.message, /refused id 107: gRPC code 2 with no message/);
  assert.deepEqual([r.reserved, r.unreserved], [18, 2]);
  assert.ok(calls <= 3 + 2 * 2 * 3, `${calls} calls`);
});
