/**
 * The app keeps writing while the migration runs. A second client (its own
 * gRPC channel) does what an application does — transactional
 * read-modify-write of users, deletes, inserts — while an emulator latency
 * widens the window between the migration's read and its commit.
 *
 * What must hold afterwards, entity by entity:
 * - no user write is lost: every committed visit increment is there, deleted
 *   users stay deleted (no resurrection), inserted users are as written;
 * - users the app rewrote keeping the old birthday end converted: either the
 *   app wrote first (the migration's base_version conflicts, it re-reads and
 *   converts the app's version) or the migration did (the app's transaction
 *   aborts and retries on the converted entity);
 * - users an old app instance rewrote with a new timestamp end either with
 *   that timestamp converted, or with the timestamp exactly as written (when
 *   the write came after the migration had passed that user).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { dspipeOnly } from '../helpers/backend.js';
import { migrateUp } from '../../src/commands/migrate.js';
import { createClient, type DatastoreClient } from '../../src/datastore/connection.js';
import type { IKey } from '../../src/model/proto.js';
import { SINGLE_ATTEMPT } from '../../src/datastore/run-query.js';
import { EntityHelper, Timestamp } from '../../src/format/entity-helper.js';
import { BASE_SECONDS, DAY, birthdayString, commit, migrationsDir, readKind, seedUsers, userKey } from '../migrate/fixtures.js';

let t: TestEmulator;
let app: DatastoreClient;
before(async () => {
  t = await startTestEmulator({ latencyMs: 15 });
  app = createClient(t.connection);
});
after(async () => {
  await app.close();
  await t.close();
});

const N = 240;

/** One transactional read-modify-write; false when the transaction aborted (the app would retry). */
async function rmw(key: IKey, change: (e: EntityHelper) => void): Promise<boolean> {
  const base = { projectId: t.connection.projectId, databaseId: t.connection.databaseId };
  const [{ transaction }] = await app.beginTransaction(base, SINGLE_ATTEMPT);
  const [found] = await app.lookup({ ...base, keys: [key], readOptions: { transaction } }, SINGLE_ATTEMPT);
  const entity = found.found?.[0]?.entity;
  if (!entity) {
    await app.rollback({ ...base, transaction }, SINGLE_ATTEMPT);
    return false;
  }
  const e = new EntityHelper(entity);
  change(e);
  try {
    await app.commit({ ...base, mode: 'TRANSACTIONAL', transaction, mutations: [{ upsert: e.toEntity() }] }, SINGLE_ATTEMPT);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 10) return false; // ABORTED: a concurrent write won
    throw err;
  }
}

// Needs the latency only dspipe's emulator injects, to widen the read-to-commit window (and, on Firestore's, base_version, which it ignores).
test('concurrent app writes during a migration all survive, and what the app rewrote ends converted or as the app wrote it', dspipeOnly('needs dspipe emulator --latency-ms to widen the window between read and commit'), async () => {
  await seedUsers(t.client, t.connection, N);
  const dir = await migrationsDir();
  const visits = new Array<number>(N).fill(0);
  const rewrote = new Map<number, number>(); // old-app birthday rewrites: user -> days added
  const deleted = [13, 101, 202];
  let rng = 42;
  const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  const migration = migrateUp({ dir, writers: 1, batchSize: 5, pageSize: 40, checkpointEvery: 50 }, { connection: t.connection, client: t.client });
  let running = true;
  void migration.finally(() => (running = false)).catch(() => {});
  const worker = async (w: number) => {
    let n = 0;
    while (running) {
      n++;
      const i = Math.floor(random() * N);
      if (deleted.includes(i)) continue;
      if (w === 0 && n % 4 === 0 && i % 3 !== 0 && i % 50 !== 7) {
        // An old app instance still writes birthdays as timestamps.
        if (await rmw(userKey(t.connection, i), (e) => {
          e.set('birthday', new Timestamp((BASE_SECONDS + (i + 1) * DAY) * 1000));
          e.set('visits', (e.get('visits') as bigint) + 1n);
        })) {
          rewrote.set(i, 1);
          visits[i]!++;
        }
      } else if (await rmw(userKey(t.connection, i), (e) => e.set('visits', (e.get('visits') as bigint) + 1n))) {
        visits[i]!++;
      }
    }
  };
  const deletes = (async () => {
    for (const i of deleted) {
      await commit(app, t.connection, [{ delete: userKey(t.connection, i) }]);
      await new Promise((r) => setTimeout(r, 30));
    }
    await commit(app, t.connection, [{ upsert: { key: userKey(t.connection, 90001), properties: { birthday: { stringValue: '2001-02-03' }, visits: { integerValue: '0' } } } }]);
  })();
  await Promise.all([worker(0), worker(1), worker(2), worker(3), worker(4), deletes]);
  const up = await migration;
  const report = up.migrations[0]!;

  const totalVisits = visits.reduce((a, b) => a + b, 0);
  assert.ok(totalVisits >= 20, `the app made ${totalVisits} writes during the migration`);
  assert.ok(report.counts.conflicts > 0, `conflicts were met and resolved (${JSON.stringify(report.counts)})`);

  const users = new Map((await readKind(t.client, t.connection, 'User')).map((e) => [e.key!.path![0]!.name!, new EntityHelper(e)]));
  assert.equal(users.size, N - deleted.length + 1);
  for (const i of deleted) assert.equal(users.has(`u${String(i).padStart(5, '0')}`), false, `deleted user ${i} stays deleted`);
  assert.equal(users.get('u90001')!.get('birthday'), '2001-02-03');
  let keptAsWritten = 0;
  for (let i = 0; i < N; i++) {
    if (deleted.includes(i)) continue;
    const u = users.get(`u${String(i).padStart(5, '0')}`)!;
    assert.equal(u.get('visits'), BigInt(visits[i]!), `user ${i}: every app increment survived`);
    assert.equal(u.get('name'), `user ${i}`);
    const b = u.get('birthday');
    if (i % 50 === 7 && !rewrote.has(i)) assert.equal(b, undefined);
    else if (rewrote.has(i)) {
      const written = new Date((BASE_SECONDS + (i + 1) * DAY) * 1000);
      if (b instanceof Date) {
        keptAsWritten++;
        assert.equal(b.getTime(), written.getTime(), `user ${i}: the old app's timestamp, exactly as written`);
      } else assert.equal(b, birthdayString(i + 1), `user ${i}: the old app's timestamp, converted`);
    } else assert.equal(b, birthdayString(i), `user ${i}: converted`);
  }
  // Each entity is given to the transform once by the scan (conflict re-reads are counted apart).
  assert.ok(report.counts.read >= N - deleted.length && report.counts.read <= N + 1, JSON.stringify(report.counts));
  assert.equal(report.counts.changed + report.counts.unchanged + report.counts.deleted, report.counts.read);
  process.stderr.write(`# app writes ${totalVisits}, old-app rewrites ${rewrote.size} (${keptAsWritten} after the migration passed), migration ${JSON.stringify(report.counts)}\n`);
});
