/**
 * The id reserver against the backend DSPIPE_TEST_BACKEND names, through the
 * real client. Firestore's emulator refuses to reserve ids of 3·2^51 and more
 * (UNKNOWN, no message), and one such id fails the whole call; the others
 * reserve every id.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeBackend, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { createIdReserver } from '../../src/stages/id-reserver.js';
import type { IEntity, IKey } from '../../src/model/proto.js';
import type { DspipeError } from '../../src/errors.js';
import { collect } from './restore-stream-helpers.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { lineToMutation } from '../../src/format/wire/mutation.js';
import type { WriteOp } from '../../src/format/batching.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const LARGE = String(3 * 2 ** 51); // 6755399441055744, the first id Firestore's emulator will not reserve

for (const path of ['object', 'wire'] as const) {
test(`idReserver ${describeBackend()}, ${path} path: ids the backend refuses are reported with their keys, the others reserved, every entity passed on`, async () => {
  const key = (...path: Array<[string, string]>): IKey => ({
    partitionId: { projectId: t.connection.projectId, namespaceId: '' },
    path: path.map(([kind, id]) => ({ kind, id })),
  });
  const entities: IEntity[] = [
    { key: key(['R', '101']), properties: {} },
    { key: key(['R', '102']), properties: {} },
    { key: key(['R', LARGE]), properties: {} },
    { key: key(['R', '103']), properties: {} },
    { key: key(['R', String(2n ** 62n)]), properties: {} },
    { key: key(['R', String(2 ** 52)]), properties: {} },
    { key: key(['R', String(3 * 2 ** 51 - 1)]), properties: {} },
    // a parent with a large id: Firestore's emulator refuses the child's key too, whose own id is small
    { key: key(['P', LARGE], ['C', '7']), properties: {} },
  ];
  const unreserved: Array<[IKey, DspipeError]> = [];
  // the wire path: Mutation bytes, ids cut from them and reserved through the raw transport
  const transport = path === 'wire' ? createRawTransport(t.client, t.connection) : undefined;
  if (path === 'wire') assert.ok(transport, 'the raw transport rides this client');
  const items: Array<IEntity | WriteOp> = path === 'wire' ? entities.map((e) => {
    const m = lineToMutation(encodeEntity(e), 'upsert');
    return { op: 'upsert', key: m.key, wire: m.bytes };
  }) : entities;
  const r = createIdReserver(t.client, t.connection, { transport, onUnreserved: (k, error) => void unreserved.push([k, error]) });
  const sink = collect<IEntity | WriteOp>();
  await pipeline(Readable.from(items), r, sink);
  assert.deepEqual(sink.items, items);
  const refused = unreserved.map(([k]) => k.path!.map((e) => `${e.kind}(${String(e.id)})`).join('/')).sort();
  if (t.name === 'firestore') {
    assert.deepEqual(refused, [`P(${LARGE})`, `P(${LARGE})/C(7)`, `R(${2n ** 62n})`, `R(${LARGE})`]);
    for (const [, error] of unreserved) assert.equal(error.code, 'DSPIPE_ID_NOT_RESERVED');
    assert.deepEqual([r.reserved, r.unreserved], [5, 4]);
  } else {
    assert.deepEqual(refused, []);
    assert.deepEqual([r.reserved, r.unreserved], [9, 0]);
  }
});
}

test(`idReserver ${describeBackend()}: every id dspipe's emulator allocates is one the backend reserves`, async () => {
  // a dump taken from our emulator must restore with its ids reserved, into Firestore's emulator too
  const ours = await startTestEmulator({ projectId: 'ids-source' });
  let ids: string[];
  try {
    const [res] = await ours.client.allocateIds({ projectId: 'ids-source', keys: Array.from({ length: 500 }, () => ({ path: [{ kind: 'A' }] })) });
    ids = (res.keys ?? []).map((k: IKey) => String(k.path!.at(-1)!.id));
  } finally {
    await ours.close();
  }
  assert.equal(ids.length, 500);
  const entities: IEntity[] = ids.map((id) => ({ key: { partitionId: { projectId: t.connection.projectId, namespaceId: '' }, path: [{ kind: 'A', id }] }, properties: {} }));
  const refused: IKey[] = [];
  const r = createIdReserver(t.client, t.connection, { onUnreserved: (k) => void refused.push(k) });
  await pipeline(Readable.from(entities), r, collect<IEntity>());
  assert.deepEqual(refused.map((k) => String(k.path![0]!.id)), []);
  assert.equal(r.reserved, 500);
});
