import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createIdReserver } from '../../src/stages/id-reserver.js';
import { IdAllocator } from '../../src/emulator/ids.js';
import { requestBase } from '../../src/datastore/connection.js';
import type { IEntity, IKey } from '../../src/datastore/proto.js';
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
