/**
 * Dump throughput: `dump()` (the library behind `dspipe dump`: snapshot read
 * time, counts, scatter splits, kinds in parallel, codec, zstd, atomic files,
 * manifest) beside the naive script a user would write (bench/lib/naive.ts:
 * high-level `runQuery` pages of 500 with cursors, JSON.stringify to a file)
 * on the same data, with and without 20 ms of emulator latency per RPC, in
 * one run. A third row, dspipe with one reader and one kind at a time, shows
 * how much of the gain is concurrency and how much is the pipeline.
 *
 *   node dist/bench/dump.bench.js [--quick] [--entities N] [--repeats N]
 *
 * The emulator runs in its own process (bench/lib/emulator-host.ts), one
 * store served on one port per latency. Runs alternate order per repeat;
 * figures are medians. MB/s is dspipe's NDJSON bytes per second for every
 * row, so all rows measure the same data. One JSON report on stdout
 * (bench/lib/report.ts); progress on stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, requestBase, resolveConnection } from '../src/datastore/connection.js';
import { dump, type DumpSummary } from '../src/commands/dump.js';
import { BatchAccumulator, type WriteOp } from '../src/format/batching.js';
import { makeEntities } from './lib/entities.js';
import { startEmulatorHost } from './lib/host.js';
import { naiveDatastore, naiveDump } from './lib/naive.js';
import { median } from './lib/stats.js';
import { emitReport, isQuick, peakRssMb, progress, type BenchRow } from './lib/report.js';

const quick = isQuick();
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, entities: { type: 'string' }, repeats: { type: 'string' } }, strict: false });
const TOTAL = Number(values.entities ?? (quick ? 3_000 : 15_000));
const REPEATS = Number(values.repeats ?? (quick ? 1 : 3));
const LATENCIES = [0, 20];
// One large kind of ~250 B events (split by scatter), ~2 KB documents, and a small kind.
const PLAN: Array<{ kind: string; shape: 'small' | 'medium'; share: number }> = [
  { kind: 'Event', shape: 'small', share: 0.6 },
  { kind: 'Doc', shape: 'medium', share: 0.3 },
  { kind: 'Log', shape: 'small', share: 0.1 },
];

async function seed(emulatorHost: string): Promise<void> {
  const connection = resolveConnection({ emulatorHost, projectId: 'bench' }, {});
  const client = createClient(connection);
  const acc = new BatchAccumulator({ maxBytes: 4 << 20, maxOps: 500 });
  const commit = (batch: WriteOp[] | undefined) =>
    batch && client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: batch.map((op) => ({ upsert: op.entity! })) });
  for (const { kind, shape, share } of PLAN) {
    for (const entity of makeEntities(shape, Math.round(TOTAL * share), { kind })) await commit(acc.add({ op: 'upsert', entity }));
  }
  await commit(acc.take());
  await client.close();
}

async function closeDatastore(ds: ReturnType<typeof naiveDatastore>): Promise<void> {
  const inner = (ds as unknown as { clients_?: Map<string, { close(): Promise<void> }> }).clients_;
  for (const c of inner?.values() ?? []) await c.close();
}

const host = await startEmulatorHost(LATENCIES);
const root = await mkdtemp(join(tmpdir(), 'dspipe-dump-bench-'));
try {
  progress(`dump bench: seeding ${TOTAL} entities in ${PLAN.length} kinds`);
  await seed(host.address(0));
  let run = 0;
  const ours = async (latency: number, extra: { splits?: number; concurrency?: number } = {}): Promise<{ seconds: number; summary: DumpSummary }> => {
    const t0 = performance.now();
    const summary = await dump({ root, name: `run-${run++}`, ...extra }, { connection: { emulatorHost: host.address(latency), projectId: 'bench' } });
    const seconds = (performance.now() - t0) / 1000;
    if (summary.entities !== TOTAL) throw new Error(`dump wrote ${summary.entities} of ${TOTAL}`);
    return { seconds, summary };
  };
  const naive = async (latency: number): Promise<number> => {
    const ds = naiveDatastore(host.address(latency), 'bench');
    const t0 = performance.now();
    const result = await naiveDump(ds, PLAN.map((p) => p.kind), join(root, `naive-${run++}.ndjson`));
    const seconds = (performance.now() - t0) / 1000;
    await closeDatastore(ds);
    if (result.entities !== TOTAL) throw new Error(`naive dump read ${result.entities} of ${TOTAL}`);
    return seconds;
  };

  // Warm-up (JIT, gRPC channels, the emulator's indexes): not timed.
  await ours(0);
  await naive(0);

  const rows: BenchRow[] = [];
  let rawBytes = 0;
  let fileBytes = 0;
  for (const latency of LATENCIES) {
    const times = { ours: [] as number[], sequential: [] as number[], naive: [] as number[] };
    for (let r = 0; r < REPEATS; r++) {
      const steps = [
        async () => {
          const { seconds, summary } = await ours(latency);
          times.ours.push(seconds);
          rawBytes = summary.rawBytes;
          fileBytes = summary.bytes;
        },
        async () => times.sequential.push((await ours(latency, { splits: 1, concurrency: 1 })).seconds),
        async () => times.naive.push(await naive(latency)),
      ];
      // rotate who goes first, so no side always meets a warmer emulator
      for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]!();
      progress(`  ${latency} ms, repeat ${r + 1}/${REPEATS}: dspipe ${times.ours.at(-1)!.toFixed(2)} s, sequential ${times.sequential.at(-1)!.toFixed(2)} s, naive ${times.naive.at(-1)!.toFixed(2)} s`);
    }
    const mb = rawBytes / 1e6;
    const naiveSeconds = median(times.naive);
    const row = (name: string, seconds: number, extra: Record<string, number> = {}): BenchRow => ({
      name: `${name}, ${latency} ms/RPC`,
      entitiesPerSec: Math.round(TOTAL / seconds),
      mbPerSec: Number((mb / seconds).toFixed(2)),
      seconds: Number(seconds.toFixed(3)),
      ...extra,
    });
    rows.push(
      row('dspipe dump', median(times.ours), {
        vsNaive: Number((naiveSeconds / median(times.ours)).toFixed(2)),
        naiveEntitiesPerSec: Math.round(TOTAL / naiveSeconds),
      }),
      row('dspipe dump, splits 1, concurrency 1', median(times.sequential), { vsNaive: Number((naiveSeconds / median(times.sequential)).toFixed(2)) }),
      row('naive runQuery + JSON.stringify', naiveSeconds),
    );
  }
  emitReport({
    scenario: 'dump',
    rows,
    notes: [
      `${TOTAL} entities in ${PLAN.length} kinds (${PLAN.map((p) => `${p.kind} ${Math.round(p.share * 100)}% ${p.shape}`).join(', ')}); ` +
        `${(rawBytes / 1e6).toFixed(1)} MB NDJSON, ${(fileBytes / 1e6).toFixed(2)} MB zstd; ${REPEATS} repeat(s), medians`,
      'vsNaive = naive seconds / dspipe seconds; MB/s counts dspipe NDJSON bytes for every row; the naive script is lossy (int64, excludeFromIndexes, blobs)',
      `peak RSS of this process (dspipe and naive runs together): ${peakRssMb().toFixed(0)} MB`,
    ],
  });
} finally {
  await host.stop();
  await rm(root, { recursive: true, force: true });
}
