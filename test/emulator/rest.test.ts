/**
 * The REST face of the emulator against its gRPC face: the same requests,
 * sent with plain fetch as JSON (the proto3 mapping the v1 REST API
 * documents) and through the official client over gRPC, on the same data,
 * must give the same answers. Entities on both sides go through dspipe's dump
 * codec (the same JSON mapping, written independently of the emulator's), so
 * "the same" means the same keys, values, meanings and index flags.
 *
 * Runs on any backend (DSPIPE_TEST_BACKEND): Google's emulators serve REST on
 * their gRPC port too, so the suite also checks that ours answers as theirs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, backendTraits, describeBackend, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { decodeEntityObject, encodeEntity } from '../../src/format/entity-codec.js';
import { formatTimestamp } from '../../src/format/timestamp.js';
import type { IEntity } from '../../src/model/proto.js';

const NO_RETRY = { retry: null } as unknown as Record<string, never>;
type Json = Record<string, any>;

let t: TestBackend;
let project: string;

async function rest(method: string, body: object): Promise<{ status: number; json: Json }> {
  const res = await fetch(`http://${t.emulatorHost}/v1/projects/${project}:${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** An entity from either side, through the dump codec. */
const viaCodec = (e: unknown): IEntity => decodeEntityObject(JSON.parse(encodeEntity(e as IEntity)));
const fromRest = (e: unknown): IEntity => decodeEntityObject(e);
const ts = (t: { seconds?: unknown; nanos?: unknown } | null | undefined) =>
  t == null ? undefined : formatTimestamp(Number(t.seconds ?? 0), Number(t.nanos ?? 0));
const b64 = (b: Uint8Array | string | null | undefined) => (b == null ? undefined : Buffer.from(b as Uint8Array).toString('base64'));

const seed: Json[] = [
  { key: { path: [{ kind: 'Task', name: 'a' }] }, properties: { n: { integerValue: '3' }, s: { stringValue: 'x' }, d: { doubleValue: 1.5 } } },
  { key: { path: [{ kind: 'Task', name: 'b' }] }, properties: { n: { integerValue: '1' }, s: { stringValue: 'y', excludeFromIndexes: true }, z: { nullValue: null } } },
  {
    key: { path: [{ kind: 'Task', id: '7' }] },
    properties: {
      n: { integerValue: '2' },
      t: { timestampValue: '2024-01-31T12:00:00.123456Z' },
      b: { blobValue: Buffer.from([0, 255, 97]).toString('base64') },
      g: { geoPointValue: { latitude: 1.25, longitude: -3.5 } },
      k: { keyValue: { path: [{ kind: 'Task', name: 'a' }] } },
      arr: { arrayValue: { values: [{ integerValue: '1' }, { stringValue: 'two' }] } },
      e: { entityValue: { properties: { inner: { booleanValue: true } } } },
      big: { stringValue: 'x'.repeat(2000), excludeFromIndexes: true, meaning: 15 },
    },
  },
];

describe(`REST and gRPC on one port give the same answers ${describeBackend()}`, () => {
  before(async () => {
    t = await startTestBackend();
    project = t.connection.projectId;
    const r = await rest('commit', { mode: 'NON_TRANSACTIONAL', mutations: seed.map((e) => ({ upsert: e })) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.mutationResults.length, 3);
  });
  after(() => t.close());

  test('GET / answers Ok', async () => {
    const res = await fetch(`http://${t.emulatorHost}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'Ok\n');
  });

  test('an unknown path is 404 Not Found', async () => {
    const res = await fetch(`http://${t.emulatorHost}/v1/projects/${project}:nonsense`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 404);
    assert.equal((await res.text()).trim(), 'Not Found');
  });

  test('lookup: what REST wrote, gRPC reads, and both read the same', async () => {
    const keys = [...seed.map((e) => e.key), { path: [{ kind: 'Task', name: 'missing' }] }];
    const r = await rest('lookup', { keys });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [g] = await t.client.lookup({ projectId: project, keys: keys as never }, NO_RETRY);
    const byName = (es: IEntity[]) => es.sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
    const restFound = byName(r.json.found.map((f: Json) => fromRest(f.entity)));
    const grpcFound = byName(g.found!.map((f: Json) => viaCodec(f.entity)));
    assert.deepEqual(restFound, grpcFound);
    assert.equal(restFound.length, 3);
    const seven = restFound.find((e) => e.key!.path![0]!.id === '7')!;
    assert.deepEqual(Object.keys(seven.properties!).sort(), Object.keys(seed[2]!.properties).sort());
    assert.deepEqual(
      r.json.found.map((f: Json) => f.version).sort(),
      g.found!.map((f: Json) => String(f.version)).sort(),
    );
    assert.deepEqual(r.json.missing.map((m: Json) => fromRest(m.entity).key), g.missing!.map((m: Json) => viaCodec(m.entity).key));
    if (backendTraits().readTimes) assert.ok(typeof r.json.readTime === 'string' && ts(g.readTime) !== undefined);
  });

  test('runQuery: filters, orders, projections and cursors page the same way', async () => {
    const query = {
      kind: [{ name: 'Task' }],
      filter: { propertyFilter: { property: { name: 'n' }, op: 'GREATER_THAN_OR_EQUAL', value: { integerValue: '1' } } },
      order: [{ property: { name: 'n' }, direction: 'DESCENDING' }],
      limit: 2,
    };
    const r = await rest('runQuery', { query });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [g] = await t.client.runQuery({ projectId: project, query: { ...query, limit: { value: 2 } } as never }, NO_RETRY);
    const restBatch = r.json.batch;
    const grpcBatch = g.batch!;
    assert.deepEqual(restBatch.entityResults.map((x: Json) => fromRest(x.entity)), grpcBatch.entityResults!.map((x: Json) => viaCodec(x.entity)));
    assert.deepEqual(restBatch.entityResults.map((x: Json) => x.entity.key.path[0].name ?? x.entity.key.path[0].id), ['a', '7']);
    assert.equal(restBatch.moreResults, grpcBatch.moreResults);
    assert.equal(restBatch.endCursor, b64(grpcBatch.endCursor as Uint8Array));
    assert.equal(restBatch.entityResultType, grpcBatch.entityResultType);

    // The REST cursor continues the gRPC query and the other way round.
    const next = await rest('runQuery', { query: { ...query, startCursor: b64(grpcBatch.endCursor as Uint8Array) } });
    const [gNext] = await t.client.runQuery(
      { projectId: project, query: { ...query, limit: { value: 2 }, startCursor: Buffer.from(restBatch.endCursor, 'base64') } as never },
      NO_RETRY,
    );
    assert.deepEqual(next.json.batch.entityResults.map((x: Json) => fromRest(x.entity)), gNext.batch!.entityResults!.map((x: Json) => viaCodec(x.entity)));
    assert.equal(next.json.batch.entityResults.length, 1);

    const projection = { kind: [{ name: 'Task' }], projection: [{ property: { name: 'n' } }], order: [{ property: { name: 'n' } }] };
    const p = await rest('runQuery', { query: projection });
    const [gp] = await t.client.runQuery({ projectId: project, query: projection as never }, NO_RETRY);
    assert.equal(p.json.batch.entityResultType, 'PROJECTION');
    assert.deepEqual(p.json.batch.entityResults.map((x: Json) => fromRest(x.entity)), gp.batch!.entityResults!.map((x: Json) => viaCodec(x.entity)));
  });

  test('GQL over REST, with a binding', async () => {
    const gqlQuery = { queryString: 'SELECT * FROM Task WHERE n = @n', namedBindings: { n: { value: { integerValue: '2' } } } };
    const r = await rest('runQuery', { gqlQuery });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [g] = await t.client.runQuery({ projectId: project, gqlQuery } as never, NO_RETRY);
    assert.deepEqual(r.json.batch.entityResults.map((x: Json) => fromRest(x.entity)), g.batch!.entityResults!.map((x: Json) => viaCodec(x.entity)));
    assert.equal(r.json.batch.entityResults.length, 1);
  });

  test('runAggregationQuery: count and sum', { skip: backendName() === 'legacy' ? 'legacy has no RunAggregationQuery (BACKENDS.md 5)' : false }, async () => {
    const aggregationQuery = {
      nestedQuery: { kind: [{ name: 'Task' }] },
      aggregations: [{ alias: 'c', count: {} }, { alias: 's', sum: { property: { name: 'n' } } }],
    };
    const r = await rest('runAggregationQuery', { aggregationQuery });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [g] = await t.client.runAggregationQuery({ projectId: project, aggregationQuery } as never, NO_RETRY);
    const restAgg = r.json.batch.aggregationResults[0].aggregateProperties;
    const grpcAgg = g.batch!.aggregationResults![0]!.aggregateProperties!;
    assert.deepEqual(restAgg, { c: { integerValue: '3' }, s: { integerValue: '6' } });
    assert.equal(String(grpcAgg.c!.integerValue), '3');
    assert.equal(String(grpcAgg.s!.integerValue), '6');
  });

  test('a transaction begun over REST commits over gRPC; rollback over REST', async () => {
    const begin = await rest('beginTransaction', {});
    assert.equal(begin.status, 200, JSON.stringify(begin.json));
    const transaction = Buffer.from(begin.json.transaction, 'base64');
    const key = { path: [{ kind: 'Tx', name: 'one' }] };
    const [c] = await t.client.commit({ projectId: project, mode: 'TRANSACTIONAL', transaction, mutations: [{ upsert: { key, properties: {} } }] }, NO_RETRY);
    assert.equal(c.mutationResults!.length, 1);
    const again = await rest('commit', { mode: 'TRANSACTIONAL', transaction: begin.json.transaction, mutations: [] });
    assert.equal(again.status, 400);
    assert.equal(again.json.error.status, 'INVALID_ARGUMENT');

    const [g] = await t.client.beginTransaction({ projectId: project }, NO_RETRY);
    const rb = await rest('rollback', { transaction: b64(g.transaction as Uint8Array) });
    assert.equal(rb.status, 200, JSON.stringify(rb.json));
    assert.deepEqual(rb.json, {});
  });

  test('allocateIds and reserveIds', async () => {
    const a = await rest('allocateIds', { keys: [{ path: [{ kind: 'Task' }] }, { path: [{ kind: 'Task' }] }] });
    assert.equal(a.status, 200, JSON.stringify(a.json));
    const ids = a.json.keys.map((k: Json) => k.path[0].id as string);
    assert.equal(new Set(ids).size, 2);
    assert.ok(ids.every((id: string) => /^[1-9]\d*$/.test(id)));
    const r = await rest('reserveIds', { keys: [{ path: [{ kind: 'Task', id: '123' }] }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, {});
  });

  test('errors: the same status over both, as Google\'s JSON error', async () => {
    const bad = { keys: [{ path: [{ kind: 'Task', id: '0' }] }] };
    const r = await rest('lookup', bad);
    const g = await t.client.lookup({ projectId: project, ...bad } as never, NO_RETRY).then(
      () => assert.fail('gRPC lookup of id 0 succeeded'),
      (err: { code: number; details: string }) => err,
    );
    assert.equal(r.status, 400);
    assert.equal(g.code, 3);
    assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'message', 'status']);
    assert.equal(r.json.error.code, 400);
    assert.equal(r.json.error.status, 'INVALID_ARGUMENT');
    assert.equal(r.json.error.message, g.details);
    const junk = await rest('lookup', { keys: [{ pathx: 1 }] });
    assert.equal(junk.status, 400);
    assert.match(junk.json.error.message, /^Payload isn't valid for request\./);
  });
});
