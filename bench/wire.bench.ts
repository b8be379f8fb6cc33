/**
 * The wire path (issue 14) against the object path: client CPU per entity
 * (process.cpuUsage of the dspipe process alone, the emulator in its own
 * process), entities/s and peak RSS of a whole dump and a whole restore
 * through the library API with `transport: 'wire'` and `'object'`, beside the
 * naive scripts (bench/lib/naive.ts) and two read ceilings measured in the
 * same run:
 *   decode   RunQuery paging through the client library, responses decoded into objects and dropped
 *   bytes    RunQuery paging through the raw transport, response bytes dropped undecoded
 * per entity shape (bench/lib/entities.ts: small ~250 B, scale ~1 KB, medium
 * ~2 KB, large ~200 KB lines). Every run is a fresh process
 * (bench/lib/wire-worker.ts). The two dumps' sha256 must match, or the bench fails.
 *
 *   node dist/bench/wire.bench.js [--quick] [--entities N] [--shapes small,scale,medium,large] [--latency MS] [--pin]
 *
 * --latency MS: the emulator adds MS ms per RPC (its --latency-ms); entities/s is then wall clock bound by round
 * trips, and rateVsNaive (entities/s ÷ the naive script's) is issue 14's "≥ 5× the naive scripts" figure.
 * --pin: the emulator on CPU 1, every measured client on CPU 0 (`taskset -c`, bench/lib/pin.ts); where taskset
 * cannot pin, the bench says why on stderr and in its notes and runs unpinned.
 *
 * --quick: 1,000 ~1 KB entities, no warm-up run: wire dump and restore and their object-path twins only
 * (a smoke test of the path and of the sha256 check, not a figure).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, requestBase, resolveConnection } from '../src/datastore/connection.js';
import { BatchAccumulator, type WriteOp } from '../src/format/batching.js';
import { makeEntities, type Shape } from './lib/entities.js';
import { startEmulatorHost } from './lib/host.js';
import { runWorker } from './lib/worker.js';
import { PIN, pinning } from './lib/pin.js';
import { emitReport, progress, type BenchRow } from './lib/report.js';
import type { WireJob, WireResult } from './lib/wire-worker.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, entities: { type: 'string' }, shapes: { type: 'string' }, latency: { type: 'string' }, pin: { type: 'boolean', default: false } },
  strict: false,
});
const quick = values.quick === true;
const ENTITIES = Number(values.entities ?? (quick ? 1_000 : 20_000));
const SHAPES = String(values.shapes ?? (quick ? 'scale' : 'small,scale,medium,large')).split(',') as Shape[];
const LATENCY = Number(values.latency ?? 0);
const PROJECT = 'bench';
const PINNING = values.pin === true ? pinning() : undefined;
const PINNED = PINNING?.ok === true;
if (PINNING && !PINNING.ok) progress(`wire bench: --pin: not pinned, ${PINNING.why}; running unpinned`);

/** Fewer large entities: each is ~200 KB. */
const countOf = (shape: Shape) => (shape === 'large' ? Math.max(20, Math.round(ENTITIES / 100)) : ENTITIES);

function worker(job: WireJob): Promise<WireResult> {
  return runWorker<WireResult>('wire-worker.js', job, quick ? [] : ['--warm'], PINNED ? PIN.client : undefined);
}

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on every architecture Linux runs Node on. */
const CLOCK_TICKS = 100;

/** A process's user + system CPU time in µs from /proc (NaN where there is no /proc, e.g. macOS). */
function processCpuUs(pid: number): number {
  try {
    // fields after the command name: state is 3rd, utime 14th, stime 15th (proc(5)), in clock ticks
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

async function seed(address: string, shape: Shape, kind: string): Promise<void> {
  const connection = resolveConnection({ emulatorHost: address, projectId: PROJECT }, {});
  const client = createClient(connection);
  const acc = new BatchAccumulator({ maxBytes: 3 << 20, maxOps: 500 });
  const commit = (batch: WriteOp[] | undefined) =>
    batch && client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: batch.map((op) => ({ upsert: op.entity! })) });
  for (const entity of makeEntities(shape, countOf(shape), { kind })) await commit(acc.add({ op: 'upsert', entity }));
  await commit(acc.take());
  await client.close();
}

const host = await startEmulatorHost([LATENCY], PINNED ? PIN.emulator : undefined);
const address = host.address(LATENCY);
const root = await mkdtemp(join(tmpdir(), 'dspipe-wire-bench-'));
const rows: BenchRow[] = [];
const notes: string[] = [];
try {
  for (const shape of SHAPES) {
    const kind = `Wire_${shape}`;
    const n = countOf(shape);
    progress(`wire bench: ${shape}: seeding ${n} entities`);
    await seed(address, shape, kind);
    const results = new Map<string, WireResult>();
    /** The emulator's CPU µs per entity of each measured run: whether it, not the client, was the limit. */
    const emulatorCpu = new Map<string, number>();
    const measure = async (label: string, job: WireJob) => {
      const before = processCpuUs(host.pid);
      const r = await worker(job);
      const spent = processCpuUs(host.pid) - before;
      // the worker runs the job twice (warm-up, then measured) unless --quick
      if (Number.isFinite(spent)) emulatorCpu.set(label, spent / (quick ? 1 : 2) / n);
      if (r.entities !== n) throw new Error(`${label} moved ${r.entities} of ${n} entities`);
      results.set(label, r);
      const emu = emulatorCpu.get(label);
      progress(`  ${label}: ${(r.cpuUs / n).toFixed(1)} µs CPU/entity, ${Math.round(n / r.seconds)} entities/s, ${r.peakRssMb.toFixed(0)} MB peak RSS${emu === undefined ? '' : `; emulator ${emu.toFixed(1)} µs/entity, busy ${Math.round((100 * emu * n) / 1e6 / r.seconds)}%`}`);
    };
    const base = { address, project: PROJECT, kind };
    const dumpDir = (name: string) => join(root, `${shape}-${name}`);
    // warm the emulator's indexes for this kind (not measured)
    await worker({ type: 'ceiling-bytes', ...base });
    await measure('dump wire', { type: 'dump', transport: 'wire', ...base, root, name: `${shape}-wire` });
    await measure('dump object', { type: 'dump', transport: 'object', ...base, root, name: `${shape}-object` });
    if (results.get('dump wire')!.sha256 !== results.get('dump object')!.sha256) throw new Error(`${shape}: the wire dump differs from the object dump (sha256)`);
    if (!quick) {
      // what zstd costs of it (the object path pays the same)
      await measure('dump wire, --compress none', { type: 'dump', transport: 'wire', ...base, root, name: `${shape}-wire-none`, compress: 'none' });
      await measure('naive dump', { type: 'naive-dump', ...base, file: join(root, `${shape}-naive.ndjson`) });
      await measure('ceiling: decode only', { type: 'ceiling-decode', ...base });
      await measure('ceiling: bytes only', { type: 'ceiling-bytes', ...base });
    }
    await measure('restore wire', { type: 'restore', transport: 'wire', address, project: `${PROJECT}-rw-${shape}`, dir: dumpDir('wire') });
    await measure('restore object', { type: 'restore', transport: 'object', address, project: `${PROJECT}-ro-${shape}`, dir: dumpDir('wire') });
    if (!quick) await measure('naive restore', { type: 'naive-restore', address, project: `${PROJECT}-rn-${shape}`, file: join(root, `${shape}-naive.ndjson`) });

    const cpu = (label: string) => results.get(label)!.cpuUs / n;
    const ratio = (a: string, b: string) => (results.has(a) && results.has(b) ? Number((cpu(b) / cpu(a)).toFixed(2)) : undefined);
    /** Wall clock: a's entities/s ÷ b's (both moved n entities). */
    const rate = (a: string, b: string) => (results.has(a) && results.has(b) ? Number((results.get(b)!.seconds / results.get(a)!.seconds).toFixed(2)) : undefined);
    for (const [label, r] of results) {
      const row: BenchRow = {
        name: `${shape}: ${label}`,
        cpuUsPerEntity: Number((r.cpuUs / n).toFixed(2)),
        entitiesPerSec: Math.round(n / r.seconds),
        peakRssMb: Math.round(r.peakRssMb),
      };
      const emu = emulatorCpu.get(label);
      if (emu !== undefined) Object.assign(row, { emulatorCpuUsPerEntity: Number(emu.toFixed(2)), emulatorBusy: Number(((emu * n) / 1e6 / r.seconds).toFixed(2)) });
      if (label === 'dump wire') Object.assign(row, { cpuVsObject: ratio('dump wire', 'dump object'), cpuVsNaive: ratio('dump wire', 'naive dump'), rateVsNaive: rate('dump wire', 'naive dump'), sameSha256: true });
      if (label === 'restore wire') Object.assign(row, { cpuVsObject: ratio('restore wire', 'restore object'), cpuVsNaive: ratio('restore wire', 'naive restore'), rateVsNaive: rate('restore wire', 'naive restore') });
      rows.push(row);
    }
  }
  notes.push(
    `${ENTITIES} entities per shape (large: ${countOf('large')}), ${LATENCY} ms per RPC, one measured run each in a fresh process after one unmeasured warm-up run of the same job; emulator in its own process`,
    'emulatorCpuUsPerEntity = the emulator process\'s user+system CPU (/proc/PID/stat) over the worker (warm-up + measured run) / 2 / entities; emulatorBusy = that CPU / the measured run\'s wall clock (1 = one core busy all the time: the emulator was the limit)',
    'cpuUsPerEntity = user+system CPU of the client process / entities; cpuVsObject / cpuVsNaive = their CPU per entity / the wire path\'s; rateVsNaive = the wire path\'s entities/s (wall clock) / the naive script\'s',
    PINNING === undefined ? 'not pinned (--pin not given): emulator and client share every core' : PINNING.ok ? `pinned: emulator on CPU ${PIN.emulator}, each client on CPU ${PIN.client} (taskset -c)` : `--pin given but not pinned: ${PINNING.why}`,
    'restores write the wire dump into a project of their own (every key moves); the naive scripts are lossy (int64, excludeFromIndexes, blobs)',
  );
  emitReport({ scenario: 'wire', rows, notes });
} finally {
  await host.stop();
  await rm(root, { recursive: true, force: true });
}
