/**
 * A dump spread over N processes on one folder (N = 1, 3, 8), one of them
 * killed mid-way and run again, finalized, compared with a single-process
 * dump of the same read time: the same kind files byte for byte and the same
 * manifest (its startedAt/finishedAt aside). Then restored by N processes:
 * the target equals the source. Runs on every backend (DSPIPE_TEST_BACKEND):
 * Google's legacy emulator cannot count (the plan scans keys), Google's
 * Firestore emulator has no __scatter__ (the plan scans keys) and lists no
 * namespaces (they are named).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { backendName, namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { seedKind } from '../stages/seed.js';
import { listFiles, readManifest, seedTarget } from '../commands/dump-helpers.js';
import { dump } from '../../src/commands/dump.js';
import { planDump } from '../../src/commands/dump-plan.js';
import { finalizeDump } from '../../src/commands/dump-finalize.js';
import { parsePlan, partsOfShard, taskFile, type TaskManifest } from '../../src/format/dump-plan.js';
import { isDspipeError } from '../../src/errors.js';
import type { Connection, DatastoreClient } from '../../src/datastore/connection.js';
import { readAll } from '../commands/restore-fixtures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const NAMESPACES = ['', 'tenant-a'];
const namespaces = namespacesToName(NAMESPACES);

interface Source {
  emulatorHost: string;
  connection: Connection;
  client: DatastoreClient;
  close(): Promise<void>;
}

let src: Source;
let root: string;
let total = 0;

/** Reads slowly enough on dspipe's emulator (20 ms per RPC) that a task can be killed between two parts. */
async function openSource(): Promise<Source> {
  if (backendName() === 'dspipe') {
    const t = await startTestEmulator({ projectId: 'shard-app', latencyMs: 20 });
    return { emulatorHost: t.emulator.address, connection: t.connection, client: t.client, close: () => t.close() };
  }
  const b: TestBackend = await startTestBackend({ projectId: `shard-app-${Date.now().toString(36)}` });
  return { emulatorHost: b.emulatorHost, connection: b.connection, client: b.client, close: () => b.close() };
}

function cli(args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; kill(): void; pid: number | undefined } {
  const child = spawn(process.execPath, [MAIN, ...args, '--emulator-host', src.emulatorHost, '--project', src.connection.projectId, '--root', root], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATASTORE_EMULATOR_HOST: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { done, kill: () => child.kill('SIGKILL'), pid: child.pid };
}

async function ok(run: ReturnType<typeof cli>): Promise<string> {
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** JSON with object keys sorted: the same entity gives the same text whatever order its properties came in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

/** A folder for one run of the job: the shared plan copied in (same read time, same ranges). */
async function jobFolder(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await copyFile(join(root, 'plan', 'plan.json'), join(dir, 'plan.json'));
  return dir;
}

async function sameDump(dir: string, reference: string): Promise<void> {
  const files = (await listFiles(dir)).filter((f) => f !== 'dump.log' && f !== 'plan.json');
  const expected = (await listFiles(reference)).filter((f) => f !== 'dump.log');
  assert.deepEqual(files, expected, 'the same files, no parts or task manifests left');
  for (const f of expected.filter((f) => f !== 'manifest.json')) assert.ok((await readFile(join(dir, f))).equals(await readFile(join(reference, f))), `${f}: byte for byte`);
  const { startedAt: _a, finishedAt: _b, ...mine } = await readManifest(dir);
  const { startedAt: _c, finishedAt: _d, ...theirs } = await readManifest(reference);
  assert.deepEqual(mine, theirs);
}

/** Waits until the task has written at least one of its parts but not all, then kills it. */
async function killMidway(run: ReturnType<typeof cli>, dir: string, index: number, count: number, parts: number): Promise<number> {
  const file = join(dir, taskFile(index, count));
  for (let i = 0; i < 3000; i++) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    const task = text === undefined ? undefined : (JSON.parse(text) as TaskManifest);
    if (task !== undefined && task.done.length >= 1) {
      run.kill();
      await run.done;
      assert.ok(task.done.length < parts, `killed before its last part (${task.done.length} of ${parts} done)`);
      return task.done.length;
    }
    await sleep(5);
  }
  throw new Error('the task wrote no part');
}

before(async () => {
  src = await openSource();
  root = await mkdtemp(join(tmpdir(), 'dspipe-shard-'));
  const t = seedTarget(src);
  total += (await seedKind(t, '', 'Big', 1200)).length;
  total += (await seedKind(t, '', 'Small', 140)).length;
  total += (await seedKind(t, 'tenant-a', 'Other', 160)).length;
  // The plan, then a single-process dump at its read time: the reference every sharded run must equal.
  const plan = await planDump({ root, name: 'plan', partEntities: 150, ...(namespaces && { namespaces }) }, { connection: src.connection, client: src.client });
  assert.ok(plan.parts >= 8, `${plan.parts} parts: enough for 8 tasks`);
  await dump(
    { root, name: 'single', ...(namespaces && { namespaces }), ...(plan.readTime !== null && { readTime: plan.readTime }) },
    { connection: src.connection, client: src.client },
  );
});
after(async () => {
  await src.close();
  await rm(root, { recursive: true, force: true });
});

describe('sharded dump', () => {
  test('the plan: ranges in key order that cover each kind, balanced over the tasks', async () => {
    const plan = parsePlan(await readFile(join(root, 'plan', 'plan.json'), 'utf8'), 'plan.json');
    assert.deepEqual(plan.kinds.map((k) => [k.namespace, k.kind, k.entities]), [['', 'Big', 1200], ['', 'Small', 140], ['tenant-a', 'Other', 160]]);
    const big = plan.parts.filter((p) => p.kind === 'Big');
    assert.equal(big[0]!.start, null);
    assert.equal(big.at(-1)!.end, null);
    for (let i = 1; i < big.length; i++) assert.deepEqual(big[i]!.start, big[i - 1]!.end, 'each range starts where the one before ends');
    assert.equal(plan.kinds[0]!.sampling, backendName() === 'firestore' ? 'keys' : 'scatter', 'Big is cut by __scatter__ where the backend has it');
    for (const n of [1, 3, 8]) {
      const all = Array.from({ length: n }, (_, i) => partsOfShard(plan, i, n).map((p) => p.id)).flat().sort((a, b) => a - b);
      assert.deepEqual(all, plan.parts.map((p) => p.id), `every part in exactly one of ${n} tasks`);
    }
  });

  for (const n of [1, 3, 8]) {
    test(`${n} process${n > 1 ? 'es' : ''} on one folder, one killed mid-way and run again: the same dump as one machine's`, async () => {
      const name = `job-${n}`;
      const dir = await jobFolder(name);
      const plan = parsePlan(await readFile(join(dir, 'plan.json'), 'utf8'), 'plan.json');
      // The victim: the task with the most parts, read one part at a time, small pages (slow enough to kill between parts).
      const victim = [...Array(n).keys()].sort((a, b) => partsOfShard(plan, b, n).length - partsOfShard(plan, a, n).length)[0]!;
      const victimParts = partsOfShard(plan, victim, n).length;
      const others = [...Array(n).keys()].filter((i) => i !== victim).map((i) => cli(['dump', '-n', name, '--shard', `${i}/${n}`, '--json']));
      if (victimParts >= 2) {
        const first = cli(['dump', '-n', name, '--shard', `${victim}/${n}`, '--concurrency', '1', '--page-size', '25']);
        await killMidway(first, dir, victim, n, victimParts);
      }
      for (const r of others) await ok(r);
      assert.equal(await stat(join(dir, 'manifest.json')).then(() => true, () => false), victimParts < 2, 'not finalized while a part is missing');
      const rerun = JSON.parse(await ok(cli(['dump', '-n', name, '--shard', `${victim}/${n}`, '--json'])));
      if (victimParts >= 2) assert.ok(rerun.parts.some((p: { kept: boolean }) => p.kept), 'the rerun kept the parts done before the kill');
      assert.equal(rerun.parts.length, victimParts);
      assert.ok(rerun.finalized !== null && rerun.finalized.wrote, 'the last task to finish finalized');
      await sameDump(dir, join(root, 'single'));
      // Finalizing again changes nothing.
      const again = await finalizeDump({ root, name });
      assert.equal(again.wrote, false);
      assert.equal(again.entities, total);
    });
  }

  test('finalize refuses while parts are missing, naming the tasks to run; a damaged part is named too', async () => {
    const name = 'job-partial';
    const dir = await jobFolder(name);
    await ok(cli(['dump', '-n', name, '--shard', '0/2']));
    await assert.rejects(finalizeDump({ root, name }), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && /not dumped yet/.test(err.message));
    await ok(cli(['dump', '-n', name, '--shard', '1/2']));
    // Task 1 finalized; make a copy of a job whose part is damaged before finalizing.
    const broken = 'job-broken';
    const bdir = await jobFolder(broken);
    const plan = parsePlan(await readFile(join(bdir, 'plan.json'), 'utf8'), 'plan.json');
    await ok(cli(['dump', '-n', broken, '--shard', '0/2']));
    const task = JSON.parse(await readFile(join(bdir, taskFile(0, 2)), 'utf8')) as TaskManifest;
    const part = task.done.find((d) => plan.parts[d.id]!.kind === 'Big')!;
    const bytes = await readFile(join(bdir, part.file));
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(join(bdir, part.file), bytes);
    // The last task finds the damage as it finalizes: it fails, naming the part and the task to run again.
    const last = await cli(['dump', '-n', broken, '--shard', '1/2']).done;
    assert.equal(last.code, 1);
    assert.match(last.stderr, /damaged/);
    assert.match(last.stderr, /run task 0\/2 again/);
    assert.equal(await stat(join(bdir, 'manifest.json')).then(() => true, () => false), false, 'a damaged part is not finalized');
    await assert.rejects(finalizeDump({ root, name: broken }), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP') && /damaged|sha256/.test(err.message) && /0\/2/.test(err.hint ?? ''));
    // Task 0 run again redoes exactly the damaged part, and the dump finalizes equal to the reference.
    const rerun = JSON.parse(await ok(cli(['dump', '-n', broken, '--shard', '0/2', '--json'])));
    assert.equal(rerun.parts.filter((p: { kept: boolean }) => !p.kept).length, 1);
    await sameDump(bdir, join(root, 'single'));
  });

  test('a damaged part fails the finalize before any kind file is moved: every other part stays, one is redone', async () => {
    // Finalize with --concurrency 1 goes through the kinds in plan order. The damaged part is in the last kind,
    // so the single-part kinds before it (Small) are checked first: they must still be parts when it fails.
    const name = 'job-late-damage';
    const dir = await jobFolder(name);
    const plan = parsePlan(await readFile(join(dir, 'plan.json'), 'utf8'), 'plan.json');
    const lastKind = plan.kinds.at(-1)!;
    const victim = plan.parts.filter((p) => p.namespace === lastKind.namespace && p.kind === lastKind.kind).at(-1)!;
    const single = plan.kinds.slice(0, -1).filter((k) => plan.parts.filter((p) => p.namespace === k.namespace && p.kind === k.kind).length === 1);
    assert.ok(single.length > 0, 'a single-part kind comes before the last one');
    const owner = [0, 1].find((i) => partsOfShard(plan, i, 2).some((p) => p.id === victim.id))!;
    await ok(cli(['dump', '-n', name, '--shard', `${owner}/2`]));
    const ownerTask = JSON.parse(await readFile(join(dir, taskFile(owner, 2)), 'utf8')) as TaskManifest;
    const damaged = ownerTask.done.find((d) => d.id === victim.id)!;
    const bytes = await readFile(join(dir, damaged.file));
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(join(dir, damaged.file), bytes);
    const last = await cli(['dump', '-n', name, '--shard', `${1 - owner}/2`, '--concurrency', '1']).done;
    assert.equal(last.code, 1, last.stderr);
    assert.match(last.stderr, new RegExp(`run task ${owner}/2 again`));
    // Every part but the damaged one is where its task left it.
    for (const i of [0, 1]) {
      const task = JSON.parse(await readFile(join(dir, taskFile(i, 2)), 'utf8')) as TaskManifest;
      for (const d of task.done.filter((d) => d.id !== victim.id)) {
        assert.ok(await stat(join(dir, d.file)).then(() => true, () => false), `part ${d.id} (${d.file}) still there after the failed finalize`);
      }
    }
    const rerun = JSON.parse(await ok(cli(['dump', '-n', name, '--shard', `${owner}/2`, '--json'])));
    assert.deepEqual(rerun.parts.filter((p: { kept: boolean }) => !p.kept).map((p: { id: number }) => p.id), [victim.id]);
    await sameDump(dir, join(root, 'single'));
  });

  test('shard flags are checked before anything is read', async () => {
    const run = await cli(['dump', '-n', 'job-1', '--shard', '3/3']).done;
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--shard.*indices run from 0 to 2/);
    const auto = await cli(['dump', '-n', 'job-1', '--shard', 'auto']).done;
    assert.equal(auto.code, 2);
    assert.match(auto.stderr, /CLOUD_RUN_TASK_INDEX/);
    // A plan whose read time Datastore no longer serves (over an hour old, not a whole minute) is refused before reading.
    const old = await jobFolder('job-old');
    const plan = JSON.parse(await readFile(join(old, 'plan.json'), 'utf8')) as { readTime: string | null };
    plan.readTime = new Date(Date.now() - 2 * 3600_000).toISOString().replace(/Z$/, '123Z');
    await writeFile(join(old, 'plan.json'), JSON.stringify(plan));
    const stale = await cli(['dump', '-n', 'job-old', '--shard', '0/2']).done;
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /read time .* is more than an hour old/);
    assert.match(stale.stderr, /--plan --force/);
    const noPlan = await cli(['dump', '-n', 'no-such-plan', '--shard', '0/2']).done;
    assert.equal(noPlan.code, 1);
    assert.match(noPlan.stderr, /no plan/);
  });
});

describe('sharded restore', () => {
  for (const n of [1, 3, 8]) {
    test(`${n} restore process${n > 1 ? 'es' : ''}, one killed and run again: the target equals the source`, async () => {
      const target = await startTestBackend({ backend: backendName() });
      try {
        const args = (i: number, more: string[] = []) => [MAIN, 'restore', '-n', 'single', '--root', root, '--shard', `${i}/${n}`, '--emulator-host', target.emulatorHost, '--project', target.connection.projectId, '--json', ...more];
        const run = (i: number, more: string[] = []) => {
          const child = spawn(process.execPath, args(i, more), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATASTORE_EMULATOR_HOST: '' } });
          let stdout = '';
          let stderr = '';
          child.stdout!.on('data', (d) => (stdout += d));
          child.stderr!.on('data', (d) => (stderr += d));
          return { child, done: new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code, stdout, stderr }))) };
        };
        // The first task writes slowly (--max-rps, its 1/n share of 300/s) so that it is killed mid-way; then it runs again.
        const runs = [...Array(n).keys()].map((i) => run(i, i === 0 ? ['--max-rps', '300', '--batch-size', '20'] : []));
        for (let i = 0; i < 4000 && (await readAll(target.client, target.connection, NAMESPACES)).length === 0; i++) await sleep(5);
        runs[0]!.child.kill('SIGKILL');
        const killed = await runs[0]!.done;
        assert.equal(killed.code, null, `the first task was killed before it finished: ${killed.stderr}`);
        const results = [];
        for (const r of runs.slice(1)) {
          const out = await r.done;
          assert.equal(out.code, 0, out.stderr);
          results.push(JSON.parse(out.stdout));
        }
        const again = await run(0).done;
        assert.equal(again.code, 0, again.stderr);
        results.push(JSON.parse(again.stdout));
        assert.equal(results.reduce((s, r) => s + r.entities, 0), total, 'the shards together hold every entity once');
        const back = await readAll(target.client, target.connection, NAMESPACES);
        const source = await readAll(src.client, src.connection, NAMESPACES);
        // Keys and key values name the project they live in: the target's on one side, the source's on the other.
        const strip = (project: string) => (e: object) => canonical(e).split(JSON.stringify(project)).join('"P"');
        assert.equal(back.length, source.length);
        assert.deepEqual(back.map(strip(target.connection.projectId)).sort(), source.map(strip(src.connection.projectId)).sort());
      } finally {
        await target.close();
      }
    });
  }
});
