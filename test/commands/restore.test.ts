import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { restore } from '../../src/commands/restore.js';
import { sampleDataset } from '../../src/demo/dataset.js';
import { compareEntities, lookupAll, seedEntities } from '../../src/demo/seed.js';
import { requestBase, type Connection } from '../../src/datastore/connection.js';
import type { IEntity, IKey } from '../../src/datastore/proto.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { keyIdentity } from '../../src/format/batching.js';
import { isDspipeError } from '../../src/errors.js';
import { IdAllocator } from '../../src/emulator/ids.js';
import { readAll, writeDumpFolder } from './restore-fixtures.js';

let t: TestEmulator;
let original: Map<string, IEntity>;
let keys: IKey[];
let dumpDir: string;
const work: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-restore-test-'));
  work.push(dir);
  return dir;
}

const conn = (projectId: string, databaseId = ''): Connection => ({ ...t.connection, projectId, databaseId });

async function deleteAll(connection: Connection): Promise<void> {
  const all = await readAll(t.client, connection);
  for (let i = 0; i < all.length; i += 200) {
    await t.client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: all.slice(i, i + 200).map((e) => ({ delete: e.key! })) });
  }
  assert.equal((await readAll(t.client, connection)).length, 0);
}

before(async () => {
  t = await startTestEmulator({ projectId: 'src-app' });
  const entities = sampleDataset({ projectId: 'src-app', users: 3 });
  await seedEntities(t.client, t.connection, entities);
  keys = entities.map((e) => e.key!);
  original = await lookupAll(t.client, t.connection, keys);
  assert.equal(original.size, entities.length);
  dumpDir = await tempDir();
  await writeDumpFolder(dumpDir, [...original.values()], { projectId: 'src-app', databaseId: '' });
});

after(async () => {
  await t.close();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

describe('restore into the same database', () => {
  test('gives back every entity equal in raw protobuf form', async () => {
    await deleteAll(t.connection);
    const result = await restore({ in: dumpDir, connection: t.connection, client: t.client });
    assert.equal(result.entities, original.size);
    assert.equal(result.written, original.size);
    assert.equal(result.rejected, 0);
    const restored = await lookupAll(t.client, t.connection, keys);
    const cmp = compareEntities(original, restored);
    assert.deepEqual(cmp.missing, []);
    assert.deepEqual(cmp.different, []);
    assert.equal(cmp.compared, original.size);
    assert.equal((await readAll(t.client, t.connection)).length, original.size, 'nothing extra written');
  });

  test('--dry-run verifies and reports, writes nothing', async () => {
    await deleteAll(t.connection);
    const result = await restore({ in: dumpDir, dryRun: true, connection: t.connection, client: t.client });
    assert.equal(result.dryRun, true);
    assert.equal(result.entities, original.size);
    assert.equal(result.written, 0);
    assert.ok(result.kinds.length >= 6);
    assert.equal((await readAll(t.client, t.connection)).length, 0);
  });
});
