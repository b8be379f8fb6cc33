/**
 * dspipe's emulator beside Google's two, in one run, through the same raw
 * client: seed (Commit, batches of 250 ~1 KB entities, 4 in flight) and scan
 * (RunQuery by __key__, page after page) in entities/s, and the emulator
 * process's RSS per entity (growth over the empty emulator, ÷ entities).
 * Google's emulators run when installed (test/helpers/backend.ts starts them)
 * and are skipped with a note otherwise. Then dspipe's emulator alone at a
 * larger size, in memory and with --data-dir: RSS per entity (the target is
 * 1M entities in ≤ 2 GB), the restart time of a data dir holding them, and
 * the disk it takes.
 *
 *   node dist/bench/emulators.bench.js [--quick] [--entities N] [--large N] [--google-large N] [--only dspipe|legacy|firestore,...]
 *
 * Defaults: 20,000 entities for the three-way comparison, 1,000,000 for the
 * large run; --quick: 3,000 and 20,000. --google-large N also runs Google's
 * legacy emulator alone at N entities (it needs ~50-140 KB per entity, so a
 * million does not fit in a test machine's memory). --only limits the
 * three-way run; --entities 0 or --large 0 skip a part.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, resolveConnection, type DatastoreClient } from '../src/datastore/connection.js';
import type { IEntity, IRunQueryResponse } from '../src/model/proto.js';
import { emitReport, isQuick, progress, type BenchRow } from './lib/report.js';
import { googleEmulatorsInstalled, startGoogleEmulatorProcess } from '../test/helpers/backend.js';

const quick = isQuick();
const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, entities: { type: 'string' }, large: { type: 'string' }, 'google-large': { type: 'string' }, only: { type: 'string' } },
  strict: false,
});
const N = Number(values.entities ?? (quick ? 3_000 : 20_000));
const LARGE = Number(values.large ?? (quick ? 20_000 : 1_000_000));
const GOOGLE_LARGE = Number(values['google-large'] ?? 0);
const ONLY = typeof values.only === 'string' ? new Set(values.only.split(',')) : undefined;
const BATCH = 250;
const WRITERS = 4;
const PROJECT = 'bench';
const ONCE = { retry: null } as unknown as Record<string, never>;
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** ~1 KB on the wire: 10 indexed properties, one 600-byte unindexed text. */
function entity(i: number): IEntity {
  return {
    key: { path: [{ kind: 'Bench', id: String(1 + ((i * 2654435761) % 2 ** 32)) }] },
    properties: {
      name: { stringValue: `user ${i}` },
      email: { stringValue: `user${i}@example.com` },
      age: { integerValue: String(i % 90) },
      score: { doubleValue: (i * 7.31) % 1000 },
      active: { booleanValue: i % 2 === 0 },
      created: { timestampValue: { seconds: String(1_600_000_000 + i), nanos: 123000 } },
      tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: `t${i % 50}` }] } },
      city: { stringValue: ['Lyon', 'Oslo', 'Lima', 'Pune'][i % 4]! },
      ref: { keyValue: { path: [{ kind: 'Org', id: String(1 + (i % 1000)) }] } },
      blob: { blobValue: Buffer.alloc(48, i % 256) },
      bio: { stringValue: 'lorem ipsum dolor sit amet '.repeat(23).slice(0, 600), excludeFromIndexes: true },
    },
  };
}

interface Running {
  address: string;
  /** RSS of the emulator's processes, in bytes. */
  rss(): number;
  stop(): Promise<void>;
}

function rssOfGroup(pgid: number): number {
  const out = execFileSync('ps', ['-o', 'rss=', '-g', String(pgid)], { encoding: 'utf8' });
  return out.split('\n').reduce((n, l) => n + (Number(l.trim()) || 0), 0) * 1024;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function startDspipe(args: string[] = []): Promise<Running & { startMs: number }> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'emulator', '--port', '0', '--host', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    out += chunk;
    const m = /DATASTORE_EMULATOR_HOST=(\S+)/.exec(out);
    if (m) {
      const startMs = performance.now() - t0;
      return {
        address: m[1]!,
        startMs,
        rss: () => rssOf(child.pid!),
        stop: async () => {
          child.kill('SIGTERM');
          await once(child, 'exit');
        },
      };
    }
  }
  throw new Error('dspipe emulator exited before listening');
}

async function startGoogle(name: 'legacy' | 'firestore'): Promise<Running> {
  const g = await startGoogleEmulatorProcess(name);
  return { address: g.address, rss: () => rssOfGroup(g.pid), stop: () => g.stop() };
}

async function seed(client: DatastoreClient, count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const mutations = [];
        for (let i = from; i < next; i++) mutations.push({ upsert: entity(i) });
        await client.commit({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations }, ONCE);
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/** Reads every page of `query`; returns the rows read. */
async function pageThrough(client: DatastoreClient, base: Record<string, unknown>): Promise<number> {
  let read = 0;
  let cursor: Uint8Array | undefined;
  // Google's legacy emulator ends every page with MORE_RESULTS_AFTER_LIMIT (BACKENDS.md 1): stop on an empty page.
  for (;;) {
    const query: Record<string, unknown> = cursor ? { ...base, startCursor: cursor } : base;
    const [r] = (await client.runQuery({ projectId: PROJECT, query }, ONCE)) as [IRunQueryResponse];
    const got = r.batch!.entityResults!.length;
    read += got;
    cursor = r.batch!.endCursor as Uint8Array;
    if (got === 0 || r.batch!.moreResults === 'NO_MORE_RESULTS') return read;
  }
}

async function scan(client: DatastoreClient, count: number): Promise<number> {
  const t0 = performance.now();
  const read = await pageThrough(client, { kind: [{ name: 'Bench' }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] });
  if (read !== count) throw new Error(`scan read ${read} of ${count} entities`);
  return read / ((performance.now() - t0) / 1000);
}

/**
 * A query that looks into every entity's properties (dspipe's emulator has no
 * per-property index: it reads each entity): `age = 7 AND active = false`,
 * paged through; returns milliseconds and checks the count.
 */
async function filtered(client: DatastoreClient, count: number): Promise<number> {
  const filter = { compositeFilter: { op: 'AND', filters: [
    { propertyFilter: { property: { name: 'age' }, op: 'EQUAL', value: { integerValue: '7' } } },
    { propertyFilter: { property: { name: 'active' }, op: 'EQUAL', value: { booleanValue: false } } },
  ] } };
  const t0 = performance.now();
  const read = await pageThrough(client, { kind: [{ name: 'Bench' }], filter });
  const ms = performance.now() - t0;
  let expected = 0;
  for (let i = 0; i < count; i++) if (i % 90 === 7 && i % 2 === 1) expected++;
  if (read !== expected) throw new Error(`filtered query read ${read} of ${expected} entities`);
  return ms;
}

async function measure(name: string, running: Running, count: number): Promise<BenchRow> {
  const client = createClient(resolveConnection({ emulatorHost: running.address, projectId: PROJECT }, {}));
  try {
    // Warm up the connection and both code paths, leaving nothing behind.
    const warm = { ...entity(0), key: { path: [{ kind: 'Bench', name: 'warm-up' }] } };
    await client.commit({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: warm }] }, ONCE);
    await client.commit({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: [{ delete: warm.key }] }, ONCE);
    const before = running.rss();
    const seedRate = await seed(client, count);
    const scanRate = await scan(client, count);
    const filterMs = await filtered(client, count);
    const after = running.rss();
    const row: BenchRow = {
      name,
      entities: count,
      seedEntitiesPerSec: Math.round(seedRate),
      scanEntitiesPerSec: Math.round(scanRate),
      filterQueryMs: Math.round(filterMs),
      rssMb: Math.round(after / 2 ** 20),
      rssBytesPerEntity: Math.round((after - before) / count),
    };
    progress(`${name}: seed ${row.seedEntitiesPerSec}/s, scan ${row.scanEntitiesPerSec}/s, filter ${row.filterQueryMs} ms, ${row.rssMb} MB RSS, ${row.rssBytesPerEntity} B/entity`);
    return row;
  } finally {
    await client.close();
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(path.join(dir, f))).size;
  return total;
}

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  const notes: string[] = [`~1 KB entities (11 properties), commits of ${BATCH} with ${WRITERS} in flight, scans by __key__; one client, one run`];
  const installed = googleEmulatorsInstalled();
  let backends: [string, () => Promise<Running>][] = [['dspipe', () => startDspipe()]];
  if (installed.ok) backends.push(['legacy', () => startGoogle('legacy')], ['firestore', () => startGoogle('firestore')]);
  else notes.push(`Google's emulators not run: ${installed.why}`);
  if (ONLY !== undefined) backends = backends.filter(([name]) => ONLY.has(name));
  if (N === 0) backends = [];
  for (const [name, start] of backends) {
    progress(`emulators bench: ${name}, ${N} entities`);
    const running = await start();
    try {
      rows.push(await measure(`${name} ${N}`, running, N));
    } finally {
      await running.stop();
    }
  }
  const ours = rows.find((r) => r.name === `dspipe ${N}`);
  for (const row of ours === undefined ? [] : rows.filter((r) => r !== ours)) {
    rows.push({
      name: `dspipe vs ${row.name}`,
      seedRatio: Number((Number(ours!.seedEntitiesPerSec) / Number(row.seedEntitiesPerSec)).toFixed(2)),
      scanRatio: Number((Number(ours!.scanEntitiesPerSec) / Number(row.scanEntitiesPerSec)).toFixed(2)),
      rssRatio: Number((Number(row.rssMb) / Number(ours!.rssMb)).toFixed(2)),
    });
  }

  if (GOOGLE_LARGE > 0 && installed.ok) {
    progress(`emulators bench: legacy alone, ${GOOGLE_LARGE} entities`);
    const running = await startGoogle('legacy');
    try {
      rows.push(await measure(`legacy ${GOOGLE_LARGE}`, running, GOOGLE_LARGE));
    } finally {
      await running.stop();
    }
  }

  // dspipe alone at scale: memory in RAM, then with a data dir (disk, restart time).
  const dir = await mkdtemp(path.join(tmpdir(), 'dspipe-bench-data-'));
  try {
    if (LARGE > 0) await large(rows, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  notes.push('rssBytesPerEntity: growth of the emulator process RSS over the empty emulator, divided by the entities; target for dspipe: 1M entities in <= 2 GB RSS');
  notes.push('filterQueryMs: age = 7 AND active = false (1 in 180 entities), every page; dspipe reads each entity, Google uses its indexes');
  notes.push('restartSeconds: from spawning `dspipe emulator --data-dir` on the folder the seeded run left to its listening');
  emitReport({ scenario: 'emulators', rows, notes });
}

async function large(rows: BenchRow[], dir: string): Promise<void> {
  {
    progress(`emulators bench: dspipe in memory, ${LARGE} entities`);
    let running = await startDspipe();
    try {
      rows.push(await measure(`dspipe memory ${LARGE}`, running, LARGE));
    } finally {
      await running.stop();
    }
    progress(`emulators bench: dspipe --data-dir, ${LARGE} entities`);
    running = await startDspipe(['--data-dir', dir]);
    let row: BenchRow;
    try {
      row = await measure(`dspipe --data-dir ${LARGE}`, running, LARGE);
    } finally {
      await running.stop();
    }
    row.diskMb = Math.round((await dirBytes(dir)) / 2 ** 20);
    row.diskBytesPerEntity = Math.round((await dirBytes(dir)) / LARGE);
    const restarted = await startDspipe(['--data-dir', dir]);
    row.restartSeconds = Number((restarted.startMs / 1000).toFixed(2));
    row.restartRssMb = Math.round(restarted.rss() / 2 ** 20);
    await restarted.stop();
    progress(`dspipe --data-dir ${LARGE}: ${row.diskMb} MB on disk, restart ${row.restartSeconds} s`);
    rows.push(row);
  }
}

await main();
