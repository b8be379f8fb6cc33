/**
 * migrate and schema throughput on the embedded emulator, beside the script a
 * user would write with the high-level client in the same run:
 *
 *   migrate run --convert   vs naive: page through the kind with runQuery, convert
 *                           birthday in JS, ds.save 500 at a time (no base_version:
 *                           it overwrites concurrent writes, and loses
 *                           excludeFromIndexes and int64 precision)
 *   schema (live scan)      vs naive: page through the kind and count typeof per property
 *
 * Each side gets its own database seeded with the same users (2/3 timestamp
 * birthdays), so both do the same work. The emulator runs in this process:
 * the figures are relative (dspipe vs naive on one machine), not absolute.
 *
 *   node dist/bench/migrate.bench.js [--quick]
 */
import type { Datastore } from '@google-cloud/datastore';
import { startEmulator } from '../src/emulator/index.js';
import { createClient, createDatastore, resolveConnection, type Connection } from '../src/datastore/connection.js';
import { migrateRun } from '../src/commands/migrate.js';
import { schema } from '../src/commands/schema.js';
import { parseConvert } from '../src/format/transforms.js';
import { seedUsers } from '../test/migrate/fixtures.js';
import { emitReport, isQuick, peakRssMb, progress, type BenchRow } from './lib/report.js';

const quick = isQuick();
const N = quick ? 3_000 : 20_000;

async function naiveConvert(ds: Datastore): Promise<number> {
  let cursor: string | undefined;
  let changed = 0;
  let batch: Array<{ key: unknown; data: unknown }> = [];
  for (;;) {
    let query = ds.createQuery('User').limit(500);
    if (cursor !== undefined) query = query.start(cursor);
    const [page, info] = await ds.runQuery(query);
    for (const entity of page as Array<Record<string | symbol, unknown>>) {
      const b = entity.birthday;
      if (!(b instanceof Date)) continue;
      batch.push({ key: entity[ds.KEY], data: { ...entity, birthday: b.toISOString().slice(0, 10) } });
      changed++;
      if (batch.length === 500) {
        await ds.save(batch as never);
        batch = [];
      }
    }
    if (info.moreResults === 'NO_MORE_RESULTS' || page.length === 0) break;
    cursor = info.endCursor;
  }
  if (batch.length > 0) await ds.save(batch as never);
  return changed;
}

async function naiveSchema(ds: Datastore): Promise<number> {
  const types = new Map<string, Map<string, number>>();
  let cursor: string | undefined;
  let n = 0;
  for (;;) {
    let query = ds.createQuery('User').limit(500);
    if (cursor !== undefined) query = query.start(cursor);
    const [page, info] = await ds.runQuery(query);
    for (const entity of page as Array<Record<string, unknown>>) {
      n++;
      for (const [name, v] of Object.entries(entity)) {
        const t = v instanceof Date ? 'timestamp' : v === null ? 'null' : typeof v;
        const m = types.get(name) ?? new Map<string, number>();
        m.set(t, (m.get(t) ?? 0) + 1);
        types.set(name, m);
      }
    }
    if (info.moreResults === 'NO_MORE_RESULTS' || page.length === 0) break;
    cursor = info.endCursor;
  }
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

const emulator = await startEmulator({ port: 0 });
const base = resolveConnection({ emulatorHost: emulator.address, projectId: 'bench' }, {});
const db = (databaseId: string): Connection => ({ ...base, databaseId });
const client = createClient(base);
const rows: BenchRow[] = [];
try {
  progress(`seeding ${N} users in two databases`);
  await seedUsers(client, db('dspipe'), N);
  await seedUsers(client, db('naive'), N);

  const ourSchema = await timed(() => schema({ kinds: 'User' }, { connection: db('dspipe'), client }));
  const naiveDs = createDatastore(db('naive'));
  const theirSchema = await timed(() => naiveSchema(naiveDs));
  rows.push({
    name: 'schema scan',
    entitiesPerSec: Math.round(N / ourSchema.seconds),
    baselineEntitiesPerSec: Math.round(theirSchema.value / theirSchema.seconds),
    ratio: Number((theirSchema.seconds / ourSchema.seconds).toFixed(2)),
  });
  progress(`schema: ${rows[0]!.entitiesPerSec} entities/s (naive ${rows[0]!.baselineEntitiesPerSec})`);

  const ours = await timed(() => migrateRun({ kind: 'User', transforms: [parseConvert('birthday:timestamp->string:date')] }, { connection: db('dspipe'), client }));
  const theirs = await timed(() => naiveConvert(naiveDs));
  rows.push({
    name: 'migrate convert',
    entitiesPerSec: Math.round(N / ours.seconds),
    changed: ours.value.counts.changed,
    baselineEntitiesPerSec: Math.round(N / theirs.seconds),
    baselineChanged: theirs.value,
    ratio: Number((theirs.seconds / ours.seconds).toFixed(2)),
    peakRssMb: Math.round(peakRssMb()),
  });
  progress(`migrate: ${rows[1]!.entitiesPerSec} entities/s (naive ${rows[1]!.baselineEntitiesPerSec})`);
  for (const c of (naiveDs as unknown as { clients_?: Map<string, { close(): Promise<void> }> }).clients_?.values() ?? []) await c.close();
} finally {
  await client.close();
  await emulator.stop();
}
emitReport({
  scenario: 'migrate',
  rows,
  notes: [`${N} users; emulator in-process; ratio = naive seconds / dspipe seconds (above 1: dspipe faster)`],
});
