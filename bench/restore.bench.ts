/**
 * Restore throughput: `restore()` (the library behind `dspipe restore`: verify
 * pass, key rewrite, ReserveIds, byte-sized batches, concurrent commits)
 * beside the naive script a user would write (bench/lib/naive.ts: high-level
 * `datastore.save` in fixed batches of 500, one at a time) on the same data,
 * with and without 20 ms of emulator latency per RPC, in one run.
 *
 *   node dist/bench/restore.bench.js [--quick] [--entities N] [--repeats N]
 *
 * The emulator runs in its own process (bench/lib/emulator-host.ts), one store
 * served on one port per latency. Both sides restore into an emptied project
 * each time (clearing is not timed), in alternating order. MB/s is the dump's
 * NDJSON bytes per second for both, so the two figures measure the same data.
 * One JSON report on stdout (bench/lib/report.ts); progress on stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, requestBase, resolveConnection } from '../src/datastore/connection.js';
import { restore } from '../src/commands/restore.js';
import { clear } from '../src/commands/clear.js';
import { dump } from '../src/commands/dump.js';
import { BatchAccumulator, type WriteOp } from '../src/format/batching.js';
import { makeEntities } from './lib/entities.js';
import { startEmulatorHost } from './lib/host.js';
import { naiveDatastore, naiveDump, naiveRestore } from './lib/naive.js';
import { median } from './lib/stats.js';
import { emitReport, isQuick, peakRssMb, progress, type BenchRow } from './lib/report.js';

const quick = isQuick();
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, entities: { type: 'string' }, repeats: { type: 'string' } }, strict: false });
const TOTAL = Number(values.entities ?? (quick ? 2_000 : 12_000));
const REPEATS = Number(values.repeats ?? (quick ? 1 : 3));
const LATENCIES = [0, 20];
const KINDS = ['Doc', 'Event'];

async function seed(emulatorHost: string): Promise<void> {
  const connection = resolveConnection({ emulatorHost, projectId: 'bench' }, {});
  const client = createClient(connection);
  // half ~2 KB documents, half ~250 B events: two kinds restored side by side
  const entities = [...makeEntities('medium', TOTAL / 2, { kind: KINDS[0] }), ...makeEntities('small', TOTAL / 2, { kind: KINDS[1] })];
  const acc = new BatchAccumulator({ maxBytes: 4 << 20, maxOps: 500 });
  const commit = (batch: WriteOp[] | undefined) =>
    batch && client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: batch.map((op) => ({ upsert: op.entity! })) });
  for (const entity of entities) await commit(acc.add({ op: 'upsert', entity }));
  await commit(acc.take());
  await client.close();
}

/** The high-level client keeps its GAPIC clients in `clients_`; close them so the process can end. */
async function closeDatastore(ds: ReturnType<typeof naiveDatastore>): Promise<void> {
  const inner = (ds as unknown as { clients_?: Map<string, { close(): Promise<void> }> }).clients_;
  for (const c of inner?.values() ?? []) await c.close();
}

async function emptied(emulatorHost: string, projectId: string): Promise<void> {
  await clear({ yes: true }, { connection: { emulatorHost, projectId } });
}

const host = await startEmulatorHost(LATENCIES);
const root = await mkdtemp(join(tmpdir(), 'dspipe-restore-bench-'));
try {
  progress(`restore bench: seeding ${TOTAL} entities`);
  await seed(host.address(0));
  const dumped = await dump({ root, name: 'bench' }, { connection: { emulatorHost: host.address(0), projectId: 'bench' } });
  const naiveFile = join(root, 'naive.ndjson');
  const seedDs = naiveDatastore(host.address(0), 'bench');
  await naiveDump(seedDs, KINDS, naiveFile);
  await closeDatastore(seedDs);
  const mb = dumped.rawBytes / 1e6;

  const rows: BenchRow[] = [];
  for (const latency of LATENCIES) {
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const runOurs = async () => {
        await emptied(host.address(0), 'ours');
        const t0 = performance.now();
        const result = await restore({ in: join(root, 'bench') }, { connection: { emulatorHost: host.address(latency), projectId: 'ours' } });
        ours.push((performance.now() - t0) / 1000);
        if (result.written !== TOTAL) throw new Error(`restore wrote ${result.written} of ${TOTAL}`);
      };
      const runNaive = async () => {
        await emptied(host.address(0), 'naive');
        const ds = naiveDatastore(host.address(latency), 'naive');
        const t0 = performance.now();
        const result = await naiveRestore(ds, naiveFile);
        theirs.push((performance.now() - t0) / 1000);
        await closeDatastore(ds);
        if (result.entities !== TOTAL) throw new Error(`naive restore wrote ${result.entities} of ${TOTAL}`);
      };
      // alternate who goes first, so neither always meets a warmer emulator
      if (r % 2 === 0) {
        await runOurs();
        await runNaive();
      } else {
        await runNaive();
        await runOurs();
      }
      progress(`  latency ${latency} ms, run ${r + 1}/${REPEATS}: dspipe ${ours.at(-1)!.toFixed(2)} s, naive ${theirs.at(-1)!.toFixed(2)} s`);
    }
    const s = median(ours);
    const n = median(theirs);
    rows.push({
      name: `restore ${TOTAL} entities, ${latency} ms latency`,
      entities: TOTAL,
      mb: Math.round(mb * 100) / 100,
      entitiesPerSec: TOTAL / s,
      mbPerSec: mb / s,
      naiveEntitiesPerSec: TOTAL / n,
      naiveMbPerSec: mb / n,
      ratio: n / s,
      seconds: s,
      naiveSeconds: n,
    });
  }
  rows.push({ name: 'peak RSS', rssMb: peakRssMb() });
  emitReport({
    scenario: 'restore',
    rows,
    notes: [
      'dspipe: restore() from a zstd dump folder incl. the verify pass, ReserveIds and byte-sized batches, 4 kinds x 4 writers;',
      'naive: high-level datastore.save in fixed batches of 500, one at a time, from the naive JSON file (lossy; less work per entity)',
      'ratio = naive seconds / dspipe seconds (above 1: dspipe is faster); medians over the repeats',
    ],
  });
} finally {
  await host.stop();
  await rm(root, { recursive: true, force: true });
}
