import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createDeleteOps, createEntityDeleter } from '../../src/stages/entity-deleter.js';
import { createBatcher } from '../../src/stages/batcher.js';
import { lookupAll, seedEntities } from '../../src/demo/seed.js';
import type { IEntity } from '../../src/model/proto.js';
import { recordEvents, tick } from './restore-stream-helpers.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator({ projectId: 'd' });
});
after(() => t.close());

test('deleteOps + batcher + entityDeleter delete what keys-only reads, entities or bare keys name', async () => {
  const entities: IEntity[] = Array.from({ length: 30 }, (_, i) => ({ key: { partitionId: { projectId: 'd' }, path: [{ kind: 'K', id: String(i + 1) }] }, properties: {} }));
  await seedEntities(t.client, t.connection, entities);
  // the three input shapes: an EntityResult, an entity, a key
  const input = entities.map((e, i) => (i % 3 === 0 ? { entity: { key: e.key } } : i % 3 === 1 ? e : e.key!));
  const ops = createDeleteOps();
  const deleter = createEntityDeleter(t.client, t.connection, { writers: 2 });
  const events = recordEvents(deleter);
  await pipeline(Readable.from(input), ops, createBatcher({ maxOps: 7 }), deleter);
  await tick();
  assert.deepEqual([ops.keys, deleter.written, deleter.commits], [30, 30, 5]);
  assert.deepEqual([events.get('finish'), events.get('close'), events.get('error')], [1, 1, undefined]);
  assert.equal((await lookupAll(t.client, t.connection, entities.map((e) => e.key!))).size, 0);
});

test('deleteOps refuses input without a key', async () => {
  await assert.rejects(pipeline(Readable.from([{ properties: {} }]), createDeleteOps(), createBatcher(), createEntityDeleter(t.client, t.connection)), /without a key/);
});
