/**
 * Whole dumps and restores through the library API (src/commands/dump.ts,
 * restore.ts) against dspipe's emulator in its own process, at several data
 * sizes, per-RPC latencies and concurrency settings, beside
 *   naive    the script a user would write with the high-level client (bench/lib/naive.ts)
 *   ceiling  dump: raw RunQuery paging over every kind at once, results dropped;
 *            restore: the raw Commit rate of seeding (batches of 1000, 4 in flight, 0 ms)
 * Every measured run is a fresh process (bench/lib/scale-worker.ts), so its
 * peak RSS is its own; the emulator serves one seeded store on one port per
 * latency (bench/lib/emulator-host.ts).
 *
 *   node dist/bench/scale.bench.js [--quick] [--sizes 10000,100000,1000000] [--latencies 0,20] [--reps 3]
 *
 * --quick: 10k entities at 0 ms, plus one small 20 ms point; one run each.
 * From 100k on each run is measured once; 1M and more run at 0 ms only, the
 * default setting and the ceiling only (a naive run or the c1 setting there
 * would take longer than the rest of the bench together on a shared 2-core
 * machine). Issue 14's target: the default dump's and restore's peak RSS at
 * 1M ~1 KB entities under 300 MB (`--sizes 1000000 --latencies 0`).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, resolveConnection } from '../src/datastore/connection.js';
import type { IRunQueryResponse } from '../src/model/proto.js';
import { makeSeedEntity, prng } from './lib/entities.js';
import { emitReport, progress, type BenchRow } from './lib/report.js';
import { median } from './lib/stats.js';
import type { ScaleJob, ScaleResult } from './lib/scale-worker.js';
import { startEmulatorHost } from './lib/host.js';
import { runWorker } from './lib/worker.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    latencies: { type: 'string' },
    reps: { type: 'string' },
  },
});
const quick = values.quick;
const SIZES = (values.sizes ?? (quick ? '10000' : '10000,100000,1000000')).split(',').map(Number);
const LATENCIES = (values.latencies ?? '0,20').split(',').map(Number);
const REPS = Number(values.reps ?? (quick ? 1 : 3));
const BIG = 1_000_000;
const PROJECT = 'bench';
const KINDS = ['Account', 'Order', 'Event', 'Session'];
const SEED_BATCH = 1000;
const SEED_IN_FLIGHT = 4;
/** --quick's 20 ms point: enough pages to see the latency, short enough for CI. */
const QUICK_LATENT_SIZE = 3000;

/**
 * `default` passes no concurrency, splits or writers (nor a transport): what a
 * user gets from `dspipe dump` / `dspipe restore` as they come, the wire
 * transport, 4 kinds at once, splits auto (up to 4 per kind), 4 writers per kind.
 */
const DEFAULT_SETTING = { tag: 'default', concurrency: undefined, splits: undefined, writers: undefined };
const DUMP_SETTINGS = quick ? [DEFAULT_SETTING] : [{ tag: 'c1', concurrency: 1, splits: 1 }, DEFAULT_SETTING];
const RESTORE_SETTINGS = quick ? [DEFAULT_SETTING] : [{ tag: 'c1', concurrency: 1, writers: 1 }, DEFAULT_SETTING];

const SINGLE_ATTEMPT = { retry: null } as unknown as Record<string, never>;

function worker(job: ScaleJob): Promise<ScaleResult> {
  return runWorker<ScaleResult>('scale-worker.js', job);
}

/** Upserts `total` entities over KINDS through the raw client in large batches; returns entities/s. */
async function seed(address: string, total: number): Promise<number> {
  const client = createClient(resolveConnection({ emulatorHost: address, projectId: PROJECT }, {}));
  const rand = prng(12345);
  let next = 0;
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: SEED_IN_FLIGHT }, async () => {
        while (next < total) {
          const first = next;
          next = Math.min(total, next + SEED_BATCH);
          const mutations = [];
          for (let i = first; i < next; i++) mutations.push({ upsert: makeSeedEntity(rand, i, KINDS[i % KINDS.length]!) });
          await client.commit({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations }, SINGLE_ATTEMPT);
        }
      }),
    );
    const rate = total / ((performance.now() - start) / 1000);
    // Warm the emulator's query path (JIT) so the first measured run is not the cold one.
    let cursor: Uint8Array | undefined;
    for (let page = 0; page < 10; page++) {
      const query: Record<string, unknown> = { kind: [{ name: KINDS[0] }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] };
      if (cursor) query.startCursor = cursor;
      const [r] = (await client.runQuery({ projectId: PROJECT, query }, SINGLE_ATTEMPT)) as [IRunQueryResponse];
      if (r.batch!.moreResults !== 'NOT_FINISHED') break;
      cursor = r.batch!.endCursor as Uint8Array;
    }
    return rate;
  } finally {
    await client.close();
  }
}

function label(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

interface Measured {
  entitiesPerSec: number;
  spread: number;
  peakRssMb: number;
  rssGrowthMb: number;
  seconds: number;
  entities: number;
}

/** Runs a job `reps` times (a fresh project for each restore); median rate, worst RSS. */
async function measure(what: string, reps: number, make: (rep: number) => ScaleJob): Promise<Measured> {
  const results: ScaleResult[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const r = await worker(make(rep));
    results.push(r);
    progress(`  ${what}: ${r.entities} entities in ${r.seconds.toFixed(2)} s = ${Math.round(r.entities / r.seconds)}/s, peak RSS ${r.peakRssMb.toFixed(0)} MB`);
  }
  const rates = results.map((r) => r.entities / r.seconds);
  const m = median(rates);
  return {
    entitiesPerSec: Math.round(m),
    spread: +((Math.max(...rates) - Math.min(...rates)) / m).toFixed(3),
    peakRssMb: Math.round(Math.max(...results.map((r) => r.peakRssMb))),
    rssGrowthMb: Math.round(Math.max(...results.map((r) => r.peakRssMb - r.baseRssMb))),
    seconds: +median(results.map((r) => r.seconds)).toFixed(2),
    entities: results[0]!.entities,
  };
}

let projectSeq = 0;

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const work = await mkdtemp(join(tmpdir(), 'dspipe-scale-'));
  const row = (name: string, m: Measured, bytesPerEntity: number, extra: Record<string, number> = {}) => {
    const r: BenchRow = { name, entitiesPerSec: m.entitiesPerSec, mbPerSec: +((m.entitiesPerSec * bytesPerEntity) / 1e6).toFixed(2), peakRssMb: m.peakRssMb, rssGrowthMb: m.rssGrowthMb, spread: m.spread, seconds: m.seconds, entities: m.entities, ...extra };
    rows.push(r);
    return r;
  };
  try {
    const plan: Array<{ size: number; latencies: number[] }> = SIZES.map((size) => ({ size, latencies: quick ? [0] : size >= BIG ? LATENCIES.slice(0, 1) : LATENCIES }));
    if (quick && LATENCIES.some((l) => l > 0)) plan.push({ size: QUICK_LATENT_SIZE, latencies: LATENCIES.filter((l) => l > 0) });
    for (const { size, latencies } of plan) {
      const big = size >= BIG;
      const reps = size >= 100_000 ? 1 : REPS;
      const dumpSettings = big ? DUMP_SETTINGS.slice(-1) : DUMP_SETTINGS;
      const restoreSettings = big ? RESTORE_SETTINGS.slice(-1) : RESTORE_SETTINGS;
      const host = await startEmulatorHost(latencies.includes(0) ? latencies : [0, ...latencies]);
      let dumpDir: string | undefined;
      let naiveFile: string | undefined;
      let bytesPerEntity = 0;
      let seedRate = 0;
      try {
        progress(`scale: seeding ${label(size)} entities over ${KINDS.length} kinds`);
        seedRate = await seed(host.address(0), size);
        progress(`  seeded at ${Math.round(seedRate)} entities/s`);
        for (const latency of latencies) {
          const at = `${label(size)} ${latency}ms`;
          const ceiling = await measure(`dump ${at} ceiling`, reps, () => ({ type: 'ceiling', address: host.address(latency), project: PROJECT, kinds: KINDS }));
          const naive = big ? undefined : await measure(`dump ${at} naive`, reps, () => {
            naiveFile = join(work, `naive-${size}.jsonl`);
            return { type: 'naive-dump', address: host.address(latency), project: PROJECT, kinds: KINDS, file: naiveFile };
          });
          const results: Array<[string, Measured]> = [];
          for (const s of dumpSettings) {
            const name = `d-${size}-${latency}-${s.tag}`;
            const m = await measure(`dump ${at} ${s.tag}`, reps, () => ({ type: 'dump', address: host.address(latency), project: PROJECT, root: work, name, concurrency: s.concurrency, splits: s.splits }));
            if (bytesPerEntity === 0) {
              const manifest = JSON.parse(await readFile(join(work, name, 'manifest.json'), 'utf8')) as { kinds: Array<{ rawBytes: number; entities: number }> };
              bytesPerEntity = manifest.kinds.reduce((n, k) => n + k.rawBytes, 0) / manifest.kinds.reduce((n, k) => n + k.entities, 0);
            }
            dumpDir ??= join(work, name);
            results.push([s.tag, m]);
          }
          for (const [tag, m] of results) {
            row(`dump ${at} dspipe ${tag}`, m, bytesPerEntity, {
              ...(naive && { vsNaive: +(m.entitiesPerSec / naive.entitiesPerSec).toFixed(2) }),
              vsCeiling: +(m.entitiesPerSec / ceiling.entitiesPerSec).toFixed(2),
            });
          }
          if (naive) row(`dump ${at} naive`, naive, bytesPerEntity);
          row(`dump ${at} ceiling`, ceiling, bytesPerEntity);
        }
      } finally {
        await host.stop();
      }
      // Restores write into fresh projects of one emulator per latency: a restore never lands on seeded data.
      for (const latency of latencies) {
        const at = `${label(size)} ${latency}ms`;
        const target = await startEmulatorHost([latency]);
        try {
          const naive = big || naiveFile === undefined ? undefined : await measure(`restore ${at} naive`, reps, () => ({ type: 'naive-restore', address: target.address(latency), project: `r${++projectSeq}`, file: naiveFile! }));
          for (const s of restoreSettings) {
            const m = await measure(`restore ${at} ${s.tag}`, reps, () => ({ type: 'restore', address: target.address(latency), project: `r${++projectSeq}`, dir: dumpDir!, concurrency: s.concurrency, writers: s.writers }));
            row(`restore ${at} dspipe ${s.tag}`, m, bytesPerEntity, {
              ...(naive && { vsNaive: +(m.entitiesPerSec / naive.entitiesPerSec).toFixed(2) }),
              ...(latency === 0 && { vsCeiling: +(m.entitiesPerSec / seedRate).toFixed(2) }),
            });
          }
          if (naive) row(`restore ${at} naive`, naive, bytesPerEntity);
          if (latency === 0) rows.push({ name: `restore ${at} ceiling`, entitiesPerSec: Math.round(seedRate), mbPerSec: +((seedRate * bytesPerEntity) / 1e6).toFixed(2) });
        } finally {
          await target.stop();
        }
      }
      // This size's dumps are done with; 1M of them is a few hundred MB.
      await rm(work, { recursive: true, force: true });
      await mkdir(work, { recursive: true });
    }
    flatness(rows, notes);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  notes.push(
    `entities of ~1 KB NDJSON (12 properties, nested, mixed types) over ${KINDS.length} kinds; MB/s = entities/s × NDJSON bytes per entity for every row`,
    'c1 = 1 kind at a time, 1 reader/writer; default = no options given: the wire transport, 4 kinds at once, splits auto (up to 4 key ranges per kind, one per 5,000 entities) for a dump, 4 writers per kind for a restore',
    `dump ceiling: raw RunQuery paging of all ${KINDS.length} kinds at once, results dropped; restore ceiling (0 ms only): seeding's raw Commit rate, batches of ${SEED_BATCH}, ${SEED_IN_FLIGHT} in flight; naive: high-level runQuery pages of 500 + JSON.stringify; save batches of 500`,
    `every run is its own process; peakRssMb is that process's max RSS, rssGrowthMb what the run added after loading modules; spread = (max−min)/median over ${REPS} runs below 100k (1 from 100k on)`,
  );
  emitReport({ scenario: 'scale', rows, notes });
}

/** Across sizes, per latency and setting: does entities/s stay flat and RSS bounded? */
function flatness(rows: BenchRow[], notes: string[]): void {
  const groups = new Map<string, Array<{ size: number; row: BenchRow }>>();
  for (const r of rows) {
    const m = /^(dump|restore) (\S+) (\d+ms) dspipe (\S+)$/.exec(r.name);
    if (!m) continue;
    const n = m[2]!;
    const size = Number(n.replace(/k$/, 'e3').replace(/M$/, 'e6'));
    const key = `${m[1]} ${m[3]} ${m[4]}`;
    groups.set(key, [...(groups.get(key) ?? []), { size, row: r }]);
  }
  for (const [key, list] of groups) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.size - b.size);
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const rateRatio = Number(last.row.entitiesPerSec) / Number(first.row.entitiesPerSec);
    rows.push({
      name: `${key} ${label(last.size)}÷${label(first.size)}`,
      rateRatio: +rateRatio.toFixed(2),
      rssRatio: +(Number(last.row.peakRssMb) / Number(first.row.peakRssMb)).toFixed(2),
      peakRssMb: last.row.peakRssMb as number,
    });
    notes.push(`${key}: entities/s ${list.map((l) => `${label(l.size)} ${l.row.entitiesPerSec}`).join(', ')}; peak RSS ${list.map((l) => `${l.row.peakRssMb} MB`).join(', ')}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
