/**
 * `dspipe dump` as users run it: a child process talking to the test backend
 * (DSPIPE_TEST_BACKEND). Broken pipes, kill -9 then --resume, exit codes, --json.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { backendTraits, dspipeOnly, namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { seedKind } from '../stages/seed.js';
import { readManifest, seedTarget, timeless } from '../commands/dump-helpers.js';
import { dump } from '../../src/commands/dump.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const traits = backendTraits();
let t: TestBackend;
/** dspipe's emulator only: its latency is what lets a test stop a dump half way. */
let slow: TestEmulator | undefined;
const LATENCY = 'needs dspipe emulator --latency-ms to stop the dump half way';
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-dump-'));
  t = await startTestBackend();
  await seedKind(seedTarget(t), '', 'Big', 3000);
  await seedKind(seedTarget(t), 'ns', 'Small', 20);
  if (traits.dspipeEmulator) {
    // 15 ms per RPC and 50-entity pages: slow enough to kill a dump half way.
    slow = await startTestEmulator({ latencyMs: 15 });
    for (const kind of ['A', 'B', 'C', 'D', 'E', 'F']) await seedKind(slow, '', kind, 150);
  }
});
after(async () => {
  await t.close();
  await slow?.close();
  await rm(root, { recursive: true, force: true });
});

/** Where the backend lists no namespaces (Firestore's emulator), a dump of t's data names them. */
const T_NAMESPACES = namespacesToName(['', 'ns']);

function args(target: Pick<TestBackend, 'connection'>, ...rest: string[]): string[] {
  const namespaces = target === t && T_NAMESPACES !== undefined ? ['--namespaces', T_NAMESPACES] : [];
  return [MAIN, 'dump', '--emulator-host', target.connection.emulatorHost!, '--project', target.connection.projectId, '--root', root, ...namespaces, ...rest];
}

/** What a backend cannot do is said on stderr, one warning each: no read time (legacy), no kind listing (Firestore). */
function assertOnlyWarnings(stderr: string): void {
  const lines = stderr.split('\n').filter(Boolean);
  assert.deepEqual(lines.filter((l) => !l.startsWith('dspipe: warning: ')), [], stderr);
  assert.equal(lines.length, (traits.readTimes ? 0 : 1) + (traits.listsKinds ? 0 : 1), stderr);
}

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function collect(child: ChildProcess): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

function runCli(argv: string[]): Promise<Result> {
  return collect(spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATASTORE_EMULATOR_HOST: '' } }));
}

test('--out - piped into head -1 exits 0 without an error message', async () => {
  // A real pipe between the two processes, as a shell makes it: head's stdin is the dumper's stdout.
  const head = spawn('head', ['-1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const dumper = spawn(process.execPath, args(t, '--out', '-'), { stdio: ['ignore', head.stdin!, 'pipe'] });
  head.stdin!.destroy();
  const [d, h] = await Promise.all([collect(dumper), collect(head)]);
  assert.equal(h.code, 0);
  const line = JSON.parse(h.stdout) as { key: { path: Array<{ kind: string }> } };
  assert.equal(line.key.path[0]!.kind, 'Big');
  assertOnlyWarnings(d.stderr);
  assert.deepEqual([d.code, d.signal], [0, null]);
});

test('--json prints the summary; an existing dump is refused with a hint; bad flags exit 2', async () => {
  const ok = await runCli(args(t, '-n', 'json', '--json'));
  assert.equal(ok.code, 0, ok.stderr);
  assertOnlyWarnings(ok.stderr);
  const summary = JSON.parse(ok.stdout) as { entities: number; kinds: Array<{ kind: string }> };
  assert.equal(summary.entities, 3020);
  assert.deepEqual(summary.kinds.map((k) => k.kind), ['Big', 'Small']);
  const again = await runCli(args(t, '-n', 'json'));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /complete dump is already at .*\n  hint: .*--force/);
  const bad = await runCli(args(t, '-n', 'x', '--compress', 'lz4'));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--compress "lz4"/);
  const help = await runCli([MAIN, 'dump', '--help']);
  assert.equal(help.code, 0);
  for (const flag of ['--name', '--root', '--out', '--force', '--resume', '--namespaces', '--kinds', '--compress', '--level', '--splits', '--concurrency', '--page-size', '--no-snapshot', '--read-time', '--options', '--quiet', '--json', '--project', '--database', '--emulator-host']) {
    assert.ok(help.stdout.includes(flag), `help documents ${flag}`);
  }
});

test('kill -9 mid-dump, then --resume: the same manifest as an uninterrupted run', dspipeOnly(LATENCY), async () => {
  const slow_ = slow!;
  const flags = ['--concurrency', '1', '--page-size', '50', '--quiet'];
  const child = spawn(process.execPath, args(slow_, '-n', 'killed', ...flags), { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = collect(child);
  const dir = join(root, 'killed');
  // Kill once at least one kind is complete and the next is under way.
  for (let i = 0; ; i++) {
    const m = await readManifest(dir).catch(() => undefined);
    if (m && m.kinds.some((k) => k.complete)) break;
    assert.ok(i < 400, 'the dump made progress');
    await sleep(25);
  }
  await sleep(60);
  child.kill('SIGKILL');
  assert.equal((await exited).signal, 'SIGKILL');
  const partial = await readManifest(dir);
  assert.equal(partial.complete, false);
  assert.ok(partial.kinds.some((k) => !k.complete), 'killed before the end');

  const resumed = await runCli(args(slow_, '-n', 'killed', '--resume', ...flags));
  assert.equal(resumed.code, 0, resumed.stderr);
  await dump({ root, name: 'whole' }, { connection: { emulatorHost: slow_.connection.emulatorHost!, projectId: slow_.connection.projectId } });
  assert.deepEqual(timeless(await readManifest(dir)), timeless(await readManifest(join(root, 'whole'))));
  const leftovers = (await readdir(dir, { recursive: true })).filter((f) => String(f).endsWith('.tmp'));
  assert.deepEqual(leftovers, []);
  assert.match(await readFile(join(dir, 'dump.log'), 'utf8'), /resume dump killed/);
});

test('SIGINT stops with 130 and leaves a resumable dump', dspipeOnly(LATENCY), async () => {
  const child = spawn(process.execPath, args(slow!, '-n', 'interrupted', '--concurrency', '1', '--page-size', '50'), { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = collect(child);
  const dir = join(root, 'interrupted');
  for (let i = 0; !(await readManifest(dir).catch(() => undefined)); i++) {
    assert.ok(i < 400);
    await sleep(25);
  }
  child.kill('SIGINT');
  const r = await exited;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /--resume/);
  assert.equal((await readManifest(dir)).complete, false);
});
