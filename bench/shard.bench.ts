/**
 * Sharded dumps and the write ramp (issue 18).
 *
 * **shards**: one `dump --plan`, then the same dump by 1, 2 and 4 `dspipe dump --shard I/N` processes on one
 * folder (the last to finish finalizes), against dspipe's emulator in its own process with 20 ms per RPC (a
 * network: where parallel tasks pay off); beside a plain single-process `dump()` of the same data. Entities/s
 * counts from the first task's start to the finalized manifest, process start-up included (what a job pays).
 * On one shared 2-core machine the processes compete for the same CPUs, so this shows the shape, not what N
 * machines would reach.
 *
 * **ramp**: the write-rate limiter on a fake clock, driven as fast as it allows for 30 fake minutes: the rate
 * sent in each 5-minute step (500/50/5), and a push-back at minute 12.
 *
 *   node dist/bench/shard.bench.js [--quick] [--entities N]
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, requestBase, resolveConnection } from '../src/datastore/connection.js';
import { dump } from '../src/commands/dump.js';
import { planDump } from '../src/commands/dump-plan.js';
import { WriteRateLimiter } from '../src/datastore/write-rate.js';
import { makeEntities } from './lib/entities.js';
import { startEmulatorHost } from './lib/host.js';
import { emitReport, isQuick, progress, type BenchRow } from './lib/report.js';

const quick = isQuick();
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, entities: { type: 'string' } }, strict: false });
const TOTAL = Number(values.entities ?? (quick ? 3_000 : 12_000));
const LATENCY = 20;
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DATASTORE_EMULATOR_HOST: '' } });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`dspipe ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function shards(rows: BenchRow[]): Promise<void> {
  const host = await startEmulatorHost([LATENCY]);
  const root = await mkdtemp(join(tmpdir(), 'dspipe-bench-shard-'));
  try {
    const emulatorHost = host.address(LATENCY);
    const connection = resolveConnection({ emulatorHost, projectId: 'bench' }, {});
    const client = createClient(connection);
    progress(`shard: seeding ${TOTAL} entities`);
    const kinds = [{ kind: 'Event', share: 0.7 }, { kind: 'Doc', share: 0.2 }, { kind: 'Log', share: 0.1 }];
    for (const { kind, share } of kinds) {
      const entities = makeEntities('small', Math.round(TOTAL * share), { kind });
      for (let i = 0; i < entities.length; i += 500) {
        await client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: entities.slice(i, i + 500).map((e) => ({ upsert: e })) });
      }
    }
    const plan = await planDump({ root, name: 'plan', partEntities: Math.ceil(TOTAL / 16) }, { connection, client });
    progress(`shard: plan of ${plan.parts} parts`);
    let started = performance.now();
    await dump({ root, name: 'single', ...(plan.readTime && { readTime: plan.readTime }) }, { connection, client });
    const single = (performance.now() - started) / 1000;
    rows.push({ name: 'dump() one process', entities: TOTAL, seconds: single, entitiesPerS: TOTAL / single });
    await client.close();
    for (const n of [1, 2, 4]) {
      const name = `job-${n}`;
      await mkdir(join(root, name));
      await copyFile(join(root, 'plan', 'plan.json'), join(root, name, 'plan.json'));
      started = performance.now();
      await Promise.all(Array.from({ length: n }, (_, i) => run(['dump', '-n', name, '--root', root, '--shard', `${i}/${n}`, '--emulator-host', emulatorHost, '--project', 'bench', '--quiet'])));
      const seconds = (performance.now() - started) / 1000;
      progress(`shard: ${n} process(es) ${seconds.toFixed(1)} s`);
      rows.push({ name: `--shard x/${n}`, processes: n, entities: TOTAL, seconds, entitiesPerS: TOTAL / seconds, vsOneProcessDump: single / seconds });
    }
  } finally {
    await host.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/** The ramp on a fake clock: what a writer sending as fast as allowed gets, step by step. */
function ramp(rows: BenchRow[]): void {
  let now = 0;
  const limiter = new WriteRateLimiter({ ramp: true, clock: () => now });
  const STEP = 5 * 60_000;
  for (let step = 0; step < 6; step++) {
    const end = (step + 1) * STEP;
    let sent = 0;
    let throttledAt: number | undefined;
    while (now < end) {
      now += limiter.reserve(100);
      if (now >= end) break;
      sent += 100;
      if (step === 2 && throttledAt === undefined && now >= 12 * 60_000) {
        limiter.throttled();
        throttledAt = now;
      }
    }
    rows.push({ name: `ramp ${step * 5}-${(step + 1) * 5} min${step === 2 ? ' (push-back at 12 min)' : ''}`, sentPerS: sent / (STEP / 1000), allowedAtEnd: limiter.rpsAt(now) });
  }
}

const rows: BenchRow[] = [];
ramp(rows);
await shards(rows);
emitReport({
  scenario: 'shard',
  rows,
  notes: [`${TOTAL} ~250 B entities in 3 kinds, ${LATENCY} ms per RPC, one run; N processes on one shared machine, start-up included`, 'ramp: fake clock, batches of 100'],
});
