import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { dump } from '../../src/commands/dump.js';
import { clear } from '../../src/commands/clear.js';
import { restore } from '../../src/commands/restore.js';
import { DEMO_NAMESPACES, sampleDataset } from '../../src/demo/dataset.js';
import { compareEntities, lookupAll, seedEntities } from '../../src/demo/seed.js';
import type { IEntity, IKey } from '../../src/model/proto.js';
import { readAll } from './restore-fixtures.js';

let t: TestBackend;
/** What a command must be told on this backend to see every namespace of the dataset. */
const namespaces = namespacesToName(DEMO_NAMESPACES);
let root: string;

before(async () => {
  t = await startTestBackend({ projectId: 'rt-app' });
  root = await mkdtemp(join(tmpdir(), 'dspipe-roundtrip-'));
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

test('dump → clear → restore gives back every entity equal in raw protobuf form', async () => {
  const entities = sampleDataset({ projectId: 'rt-app', users: 4 });
  await seedEntities(t.client, t.connection, entities);
  const keys: IKey[] = entities.map((e) => e.key!);
  const original = await lookupAll(t.client, t.connection, keys);
  assert.equal(original.size, entities.length);

  const dumped = await dump({ root, name: 'd1', ...(namespaces && { namespaces }) }, { connection: { emulatorHost: t.emulatorHost, projectId: 'rt-app' } });
  assert.equal(dumped.entities, entities.length);

  const cleared = await clear({ yes: true, ...(namespaces && { namespaces }) }, { connection: t.connection, client: t.client });
  assert.equal(cleared.deleted, entities.length);
  assert.equal((await readAll(t.client, t.connection, DEMO_NAMESPACES)).length, 0);

  const restored = await restore({ root, name: 'd1' }, { connection: t.connection, client: t.client });
  assert.equal(restored.written, entities.length);
  assert.equal(restored.rejected, 0);

  const back = await lookupAll(t.client, t.connection, keys);
  const cmp = compareEntities(original, back);
  assert.deepEqual(cmp.missing, []);
  assert.deepEqual(cmp.different, []);
  assert.equal((await readAll(t.client, t.connection, DEMO_NAMESPACES)).length, entities.length, 'nothing extra');

  // the things most easily lost, checked by name
  const every = [...back.values()].find((e: IEntity) => e.key!.path!.at(-1)!.kind === 'EveryType' && e.key!.partitionId!.namespaceId === '')!;
  const p = every.properties!;
  assert.equal(p.maxInt!.integerValue, '9223372036854775807');
  assert.equal(p.withMeaning!.meaning, 15);
  assert.equal(p.textMeaning!.excludeFromIndexes, true);
  assert.equal(Object.is(p.negZero!.doubleValue, -0), true);
  assert.ok(Number.isNaN(p.nan!.doubleValue));
  assert.equal(p.micros!.timestampValue!.nanos, 123_000);
  assert.equal(p.nested!.arrayValue!.values![0]!.entityValue!.properties!.inner!.arrayValue!.values![0]!.entityValue!.properties!.deep!.keyValue!.partitionId!.namespaceId, 'tenant-b');
  const image = [...back.values()].find((e) => e.key!.path!.at(-1)!.kind === 'Image')!;
  assert.equal((image.properties!.data!.blobValue as Buffer).length, 900 * 1024);
});

test('a real dump restores into another project and namespace with references rewritten', async () => {
  const result = await restore({ root, name: 'd1', namespaceMap: 'tenant-b=copy-b' }, { connection: { ...t.connection, projectId: 'rt-copy' }, client: t.client });
  assert.ok(result.written > 0);
  const copy = await readAll(t.client, { ...t.connection, projectId: 'rt-copy' }, ['', 'copy-b', 'tenant-a']);
  assert.equal(copy.length, result.written);
  const namespaces = new Set(copy.map((e) => e.key!.partitionId!.namespaceId));
  assert.deepEqual([...namespaces].sort(), ['', 'copy-b', 'tenant-a']);
  const comment = copy.find((e) => e.key!.partitionId!.namespaceId === 'copy-b' && e.key!.path!.at(-1)!.kind === 'Comment')!;
  assert.deepEqual(comment.properties!.post!.keyValue!.partitionId, { projectId: 'rt-copy', databaseId: '', namespaceId: 'copy-b' });
  assert.equal(comment.key!.path!.length, 3);
});
