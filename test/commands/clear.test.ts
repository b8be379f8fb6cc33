import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { clear } from '../../src/commands/clear.js';
import { sampleDataset } from '../../src/demo/dataset.js';
import { seedEntities } from '../../src/demo/seed.js';
import type { Connection } from '../../src/datastore/connection.js';
import { isDspipeError } from '../../src/errors.js';
import { readAll } from './restore-fixtures.js';

let t: TestEmulator;
const conn = (projectId: string): Connection => ({ ...t.connection, projectId });
const kindOf = (e: { key?: { path?: Array<{ kind?: string | null }> | null } | null }) => e.key!.path!.at(-1)!.kind!;

async function seeded(projectId: string): Promise<number> {
  const entities = sampleDataset({ projectId, users: 2, large: false });
  await seedEntities(t.client, conn(projectId), entities);
  return entities.length;
}

before(async () => {
  t = await startTestEmulator({ projectId: 'clear-app' });
});
after(() => t.close());

describe('clear', () => {
  test('refuses without confirmation and deletes nothing', async () => {
    const n = await seeded('c1');
    await assert.rejects(clear({}, { connection: conn('c1'), client: t.client }), (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED'));
    assert.equal((await readAll(t.client, conn('c1'))).length, n);
  });

  test('against a real project, --yes alone is refused; the project must be named exactly', async () => {
    const prod: Connection = { projectId: 'my-app', databaseId: '' };
    await assert.rejects(clear({ yes: true }, { connection: prod }), (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED') && /named/.test(err.message));
    await assert.rejects(clear({ yes: true, confirmProject: 'my-ap' }, { connection: prod }), (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED') && /does not match/.test(err.message));
  });

  test('with --yes on an emulator, empties every kind of every namespace', async () => {
    const n = await seeded('c2');
    const seen: string[] = [];
    const result = await clear({ yes: true, writers: 2, batchSize: 7 }, { connection: conn('c2'), client: t.client, onEvent: (e) => e.type === 'kind-done' && seen.push(e.kind) });
    assert.equal(result.deleted, n);
    assert.ok(result.commits >= Math.ceil(n / 7));
    assert.equal(new Set(result.kinds.map((k) => k.namespace)).size, 3);
    assert.equal(seen.length, result.kinds.length);
    assert.equal((await readAll(t.client, conn('c2'))).length, 0);
    // and nothing is left to clear
    assert.equal((await clear({ yes: true }, { connection: conn('c2'), client: t.client })).deleted, 0);
  });

  test('--kinds and --namespaces limit what is deleted', async () => {
    const n = await seeded('c3');
    const before = await readAll(t.client, conn('c3'));
    const chosen = before.filter((e) => kindOf(e) === 'Comment' && e.key!.partitionId!.namespaceId === 'tenant-a');
    const result = await clear({ yes: true, kinds: 'Comment', namespaces: 'tenant-a' }, { connection: conn('c3'), client: t.client });
    assert.equal(result.deleted, chosen.length);
    assert.ok(chosen.length > 0);
    assert.equal((await readAll(t.client, conn('c3'))).length, n - chosen.length);
  });

  test('injected transient faults still empty everything', async () => {
    const faulty = await startTestEmulator({ projectId: 'f1', faults: { rate: 0.1, seed: 3 } });
    try {
      const entities = sampleDataset({ projectId: 'f1', users: 2, large: false });
      await seedEntities(faulty.client, faulty.connection, entities);
      const retry = { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: 20 };
      const result = await clear({ yes: true }, { connection: faulty.connection, client: faulty.client, retry });
      assert.equal(result.deleted, entities.length);
      const left = await clear({ yes: true }, { connection: faulty.connection, client: faulty.client, retry });
      assert.equal(left.deleted, 0);
    } finally {
      await faulty.close();
    }
  });
});
