import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { backendTraits, dspipeOnly, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { migrateStatus, migrateUp, type MigrateEvent } from '../../src/commands/migrate.js';
import { schema } from '../../src/commands/schema.js';
import { expectedCounts, migrationsDir, readKind, seedUsers, birthdayString } from '../migrate/fixtures.js';
import { EntityHelper } from '../../src/format/entity-helper.js';

let t: TestBackend;
const traits = backendTraits();
before(async () => {
  t = await startTestBackend();
});
/** Handles on projects of their own, for tests that need a named database apart from the rest. */
const opened: TestBackend[] = [];
after(async () => {
  for (const b of opened) await b.close();
  await t.close();
});

test('the type-change story: schema shows the mix, up converts, schema shows strings, status applied, second up does nothing', async () => {
  const N = 600;
  await seedUsers(t.client, t.connection, N);
  const common = { connection: t.connection, client: t.client };
  const beforeReport = await schema({ kinds: 'User' }, common);
  const user = beforeReport.kinds.find((k) => k.kind === 'User')!;
  const exp = expectedCounts(N);
  assert.equal(user.entities, N);
  assert.deepEqual(user.properties.birthday!.types, { timestamp: exp.timestamp, string: exp.string });
  assert.equal(user.properties.birthday!.missing, exp.missing);

  const dir = await migrationsDir();
  const status0 = await migrateStatus({ dir }, common);
  assert.deepEqual(status0.map((s) => [s.name, s.state]), [['0001-birthday-to-string', 'pending']]);
  assert.match(status0[0]!.description, /timestamp -> "YYYY-MM-DD"/);

  const events: MigrateEvent[] = [];
  const up = await migrateUp({ dir, checkpointEvery: 100 }, { ...common, onEvent: (e) => events.push(e) });
  assert.equal(up.migrations.length, 1);
  // Where the backend ignores base_version (Firestore's emulator), the migration says so once, before it writes.
  const warnings = events.flatMap((e, i) => (e.type === 'warning' && /base_version/.test(e.message) ? [i] : []));
  if (traits.baseVersion) assert.deepEqual(warnings, []);
  else {
    assert.equal(warnings.length, 1, JSON.stringify(events.filter((e) => e.type === 'warning')));
    const firstWrite = events.findIndex((e) => e.type === 'kind-progress' || e.type === 'kind-done');
    assert.ok(firstWrite === -1 || warnings[0]! < firstWrite, 'warned before the first write');
  }
  assert.deepEqual(up.migrations[0]!.counts, { read: N, changed: exp.timestamp, deleted: 0, unchanged: exp.string + exp.missing, conflicts: 0 });

  const afterReport = await schema({ kinds: 'User' }, common);
  assert.deepEqual(afterReport.kinds[0]!.properties.birthday!.types, { string: exp.timestamp + exp.string });
  const entities = await readKind(t.client, t.connection, 'User');
  for (const [i, e] of entities.entries()) {
    const h = new EntityHelper(e);
    if (i % 50 === 7) assert.equal(h.has('birthday'), false);
    else {
      assert.equal(h.get('birthday'), birthdayString(i));
      // the index flag survives the type change
      assert.equal(h.isExcludedFromIndexes('birthday'), i % 3 !== 0 && i % 2 === 0);
    }
  }

  const status1 = await migrateStatus({ dir }, common);
  assert.equal(status1[0]!.state, 'applied');
  assert.equal(status1[0]!.record!.status, 'applied');
  assert.equal(status1[0]!.record!.counts.changed, exp.timestamp);
  assert.ok(status1[0]!.record!.finishedAt);

  const again = await migrateUp({ dir }, common);
  assert.deepEqual(again.migrations, []);
});

test('transient faults on every RPC are retried: the migration still converts everything exactly once', dspipeOnly('needs dspipe emulator fault injection'), async () => {
  const { startTestEmulator: start } = await import('../helpers/emulator.js');
  const faulty = await start({ faults: { rate: 0.15, seed: 7 } });
  try {
    const { createClient } = await import('../../src/datastore/connection.js');
    const seeder = createClient(faulty.connection);
    const { withRetry } = await import('../../src/datastore/retry.js');
    const fast = { maxAttempts: 20, initialDelayMs: 2, maxDelayMs: 20, multiplier: 2 };
    await withRetry(() => seedUsers(seeder, faulty.connection, 200), fast);
    await seeder.close();
    const dir = await migrationsDir();
    const up = await migrateUp({ dir, batchSize: 20, checkpointEvery: 25 }, { connection: faulty.connection, client: faulty.client, retry: fast });
    assert.equal(up.migrations[0]!.counts.changed, expectedCounts(200).timestamp);
    assert.ok([...faulty.emulator.faultsInjected().values()].reduce((a, b) => a + b, 0) > 0, 'faults were injected');
    const entities = await withRetry(() => readKind(faulty.client, faulty.connection, 'User'), fast);
    for (const [i, e] of entities.entries()) {
      const b = new EntityHelper(e).get('birthday');
      assert.equal(b, i % 50 === 7 ? undefined : birthdayString(i));
    }
    const status = await withRetry(() => migrateStatus({ dir }, { connection: faulty.connection, client: faulty.client, retry: fast }), fast);
    assert.equal(status[0]!.state, 'applied');
  } finally {
    await faulty.close();
  }
});

test('--backup dumps the touched kinds to <root>/pre-<migration>/ before writing', async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const b = await t.fresh({ databaseId: 'backup' });
  opened.push(b);
  const connection = b.connection;
  await seedUsers(t.client, connection, 40);
  const root = await mkdtemp(join(tmpdir(), 'dspipe-backup-'));
  const dir = await migrationsDir();
  const up = await migrateUp({ dir, backup: true, backupRoot: root }, { connection, client: t.client });
  const backupDir = join(root, 'pre-0001-birthday-to-string');
  assert.equal(up.migrations[0]!.backupDir, backupDir);
  const before = await schema({ from: backupDir });
  assert.deepEqual(before.kinds.map((k) => [k.kind, k.entities]), [['User', 40]]);
  assert.deepEqual(before.kinds[0]!.properties.birthday!.types, { timestamp: expectedCounts(40).timestamp, string: expectedCounts(40).string });
  const after = await schema({ kinds: 'User' }, { connection, client: t.client });
  assert.deepEqual(Object.keys(after.kinds[0]!.properties.birthday!.types), ['string']);
});

test('migrate honours the signal: up stops with the caller\'s reason, and the next up resumes from the checkpoint', async () => {
  const b = await t.fresh({ databaseId: 'stopped' });
  opened.push(b);
  const connection = b.connection;
  const N = 600;
  await seedUsers(t.client, connection, N);
  const dir = await migrationsDir();
  const controller = new AbortController();
  const reason = new Error('interrupted');
  const stopped = migrateUp({ dir, checkpointEvery: 50, batchSize: 20, writers: 1 }, {
    connection,
    client: t.client,
    signal: controller.signal,
    onEvent: (e) => e.type === 'kind-progress' && e.counts.read >= 200 && controller.abort(reason),
  });
  await assert.rejects(stopped, (err) => err === reason);
  const [status] = await migrateStatus({ dir }, { connection, client: t.client });
  assert.notEqual(status!.state, 'applied');
  assert.ok(status!.record!.checkpoint[0]!.lastKey, 'progress was checkpointed before it stopped');

  const resumed = await migrateUp({ dir }, { connection, client: t.client });
  assert.equal(resumed.migrations[0]!.resumed, true);
  const [done] = await migrateStatus({ dir }, { connection, client: t.client });
  assert.equal(done!.state, 'applied');
  // Every entity converted exactly as an uninterrupted run does (what was committed before the stop is passed over).
  for (const [i, e] of (await readKind(t.client, connection, 'User')).entries()) {
    assert.equal(new EntityHelper(e).get('birthday'), i % 50 === 7 ? undefined : birthdayString(i));
  }
});
