import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendTraits, dspipeOnly, namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { clear, type ClearEvent } from '../../src/commands/clear.js';
import { DEMO_NAMESPACES, sampleDataset } from '../../src/demo/dataset.js';
import { seedEntities } from '../../src/demo/seed.js';
import type { Connection } from '../../src/datastore/connection.js';
import { isDspipeError } from '../../src/errors.js';
import { readAll } from './restore-fixtures.js';

let t: TestBackend;
const kindOf = (e: { key?: { path?: Array<{ kind?: string | null }> | null } | null }) => e.key!.path!.at(-1)!.kind!;
const traits = backendTraits();

/** A new, empty project on the backend with the sample dataset in it. */
async function seeded(): Promise<{ b: TestBackend; n: number; all: () => ReturnType<typeof readAll> }> {
  const b = await t.fresh();
  opened.push(b);
  const entities = sampleDataset({ projectId: b.connection.projectId, users: 2, large: false });
  await seedEntities(b.client, b.connection, entities);
  return { b, n: entities.length, all: () => readAll(b.client, b.connection, DEMO_NAMESPACES) };
}

const opened: TestBackend[] = [];
before(async () => {
  t = await startTestBackend();
});
after(async () => {
  for (const b of opened) await b.close();
  await t.close();
});

describe('clear', () => {
  test('refuses without confirmation and deletes nothing', async () => {
    const { b, n, all } = await seeded();
    await assert.rejects(clear({}, { connection: b.connection, client: b.client }), (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED'));
    assert.equal((await all()).length, n);
  });

  test('against a real project, --yes alone is refused; the project must be named exactly', async () => {
    const prod: Connection = { projectId: 'my-app', databaseId: '' };
    await assert.rejects(clear({ yes: true }, { connection: prod }), (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED') && /named/.test(err.message));
    await assert.rejects(clear({ yes: true, confirmProject: 'my-ap' }, { connection: prod }), (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED') && /does not match/.test(err.message));
  });

  test('with --yes on an emulator, empties every kind of every namespace', async () => {
    const { b, n, all } = await seeded();
    const on = { connection: b.connection, client: b.client };
    let deleted = 0;
    if (!traits.listsKinds) {
      // The backend lists no namespaces: clear says so, in one warning, and empties the default namespace only.
      const warnings: string[] = [];
      const first = await clear({ yes: true }, { ...on, onEvent: (e) => e.type === 'warning' && warnings.push(e.message) });
      assert.equal(warnings.filter((w) => /namespace/.test(w)).length, 1, JSON.stringify(warnings));
      assert.match(warnings.find((w) => /namespace/.test(w))!, /--namespaces/);
      assert.deepEqual([...new Set(first.kinds.map((k) => k.namespace))], ['']);
      assert.equal((await all()).filter((e) => e.key!.partitionId!.namespaceId === '').length, 0);
      deleted = first.deleted;
    }
    const seen: string[] = [];
    const namespaces = namespacesToName(DEMO_NAMESPACES);
    const onEvent = (e: ClearEvent) => void (e.type === 'kind-done' && seen.push(e.kind));
    const result = await clear({ yes: true, writers: 2, batchSize: 7, ...(namespaces && { namespaces }) }, { ...on, onEvent });
    assert.equal(result.deleted + deleted, n);
    assert.ok(result.commits >= Math.ceil((n - deleted) / 7));
    assert.equal(new Set(result.kinds.filter((k) => k.deleted > 0).map((k) => k.namespace)).size, traits.listsKinds ? 3 : 2);
    assert.equal(seen.length, result.kinds.length);
    assert.equal((await all()).length, 0);
    // and nothing is left to clear
    assert.equal((await clear({ yes: true, ...(namespaces && { namespaces }) }, on)).deleted, 0);
  });

  test('--kinds and --namespaces limit what is deleted', async () => {
    const { b, n, all } = await seeded();
    const before = await all();
    const chosen = before.filter((e) => kindOf(e) === 'Comment' && e.key!.partitionId!.namespaceId === 'tenant-a');
    const result = await clear({ yes: true, kinds: 'Comment', namespaces: 'tenant-a' }, { connection: b.connection, client: b.client });
    assert.equal(result.deleted, chosen.length);
    assert.ok(chosen.length > 0);
    assert.equal((await all()).length, n - chosen.length);
  });

  test('injected transient faults still empty everything', dspipeOnly('needs dspipe emulator fault injection'), async () => {
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
