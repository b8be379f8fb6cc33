/**
 * `npm run test:backends`: the command-level suite (test/commands, test/cli,
 * test/backends, and every other test file that runs on helpers/backend.ts)
 * once per backend: the one DSPIPE_TEST_BACKEND names, else all three.
 *
 * Per backend it prints node --test's summary, the failures with their error,
 * the todos (known dspipe bugs) and why tests were skipped; then one line
 * summed over the backends, and exits 1 if anything failed. Where Google's
 * emulators are not installed it says so in one line and runs dspipe's only:
 * never a silent green for a suite that did not run.
 *
 * Runs from dist/ (package.json compiles first). DSPIPE_TEST_CONCURRENCY sets
 * the test files run at once (default 1: each file on a Google backend starts
 * a JVM, and the machines here have 2 cores).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKEND_NAMES, backendName, googleEmulatorsInstalled, type BackendName } from './helpers/backend.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/test
const SUITE_DIRS = ['commands', 'cli', 'backends'];
const ALSO = ['helpers/backend.test.js'];
/** A test may take this long (the round trip on the legacy emulator takes the most); then it fails rather than hang the run. */
const TEST_TIMEOUT_MS = 300_000;

const DESCRIPTION: Record<BackendName, string> = {
  dspipe: "dspipe's emulator",
  legacy: "Google's legacy Datastore emulator",
  firestore: "Google's Firestore emulator in Datastore mode",
};

interface Run {
  backend: BackendName;
  seconds: number;
  exitCode: number;
  counts: Record<'tests' | 'pass' | 'fail' | 'skipped' | 'todo' | 'cancelled', number>;
  summary: string[];
  failures: string[];
  todos: string[];
  skips: Map<string, number>;
  log: string;
}

/** The compiled test files the suite is made of: its folders, and any file that imports helpers/backend. */
async function suiteFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(HERE, { recursive: true })) {
    const rel = String(entry).split('\\').join('/');
    if (!rel.endsWith('.test.js')) continue;
    const inSuite = SUITE_DIRS.some((d) => rel.startsWith(`${d}/`)) || ALSO.includes(rel);
    if (inSuite || /from ['"][./]*\/helpers\/backend\.js['"]/.test(await readFile(join(HERE, rel), 'utf8'))) files.push(join(HERE, rel));
  }
  return files.sort();
}

const DIRECTIVE = /^(\s*)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)(?: (.*))?)?$/;

/** Reads node --test's TAP: the summary, and each failure, todo and skip reason. */
function parseTap(tap: string, run: Run): void {
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const summary = /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) (\S+)$/.exec(line);
    if (summary) {
      run.summary.push(line);
      if (summary[1]! in run.counts) run.counts[summary[1] as keyof Run['counts']] = Number(summary[2]);
      continue;
    }
    const m = DIRECTIVE.exec(line);
    if (!m) continue;
    const [, indent, status, name, directive, reason] = m;
    if (directive === 'SKIP') run.skips.set(reason ?? '(no reason)', (run.skips.get(reason ?? '(no reason)') ?? 0) + 1);
    else if (directive === 'TODO') run.todos.push(`${status === 'ok' ? '(passes now: drop the todo) ' : ''}${name} # TODO ${reason ?? ''}`.trimEnd());
    else if (status === 'not ok') {
      // The diagnostic block that follows, up to its closing "...": keep the leaf failures, not the suites they fail.
      const block: string[] = [];
      for (let j = i + 1; j < lines.length && lines[j] !== `${indent}  ...`; j++) block.push(lines[j]!.slice(indent!.length + 2));
      if (block.some((b) => /^failureType: 'subtestsFailed'/.test(b))) continue;
      const at = block.find((b) => b.startsWith('location: '))?.slice(10) ?? '';
      const errorAt = block.findIndex((b) => b.startsWith('error: '));
      const error: string[] = [];
      if (errorAt >= 0) {
        error.push(block[errorAt]!.slice(7));
        for (let j = errorAt + 1; j < block.length && /^\s/.test(block[j]!); j++) error.push(block[j]!.trim());
      }
      run.failures.push(`${name}  ${at}\n      ${error.join('\n      ').slice(0, 1500)}`);
    }
  }
}

async function runBackend(backend: BackendName, files: string[], logDir: string): Promise<Run> {
  const run: Run = {
    backend, seconds: 0, exitCode: 0, summary: [], failures: [], todos: [], skips: new Map(), log: join(logDir, `${backend}.tap`),
    counts: { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 },
  };
  const concurrency = process.env.DSPIPE_TEST_CONCURRENCY || '1';
  const started = performance.now();
  const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=tap', ...files], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DSPIPE_TEST_BACKEND: backend },
  });
  const log = createWriteStream(run.log);
  let tap = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    tap += d;
    log.write(d);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => log.write(d));
  run.exitCode = await new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  await new Promise<void>((resolve) => log.end(resolve));
  run.seconds = (performance.now() - started) / 1000;
  parseTap(tap, run);
  // node counts skipped tests, not skipped suites (the cross-backend one): count every SKIP it printed.
  run.counts.skipped = Math.max(run.counts.skipped, [...run.skips.values()].reduce((a, b) => a + b, 0));
  // A run that failed without a failing test (a file that does not load, a crash) still fails.
  if (run.exitCode !== 0 && run.counts.fail === 0) {
    run.counts.fail = 1;
    run.failures.push(`node --test exited with code ${run.exitCode} and no failing test: see ${run.log}`);
  }
  return run;
}

function report(run: Run): void {
  const out: string[] = [`== ${run.backend} (${DESCRIPTION[run.backend]}): ${run.seconds.toFixed(1)} s wall`];
  for (const f of run.failures) out.push(`  FAIL ${f}`);
  for (const t of run.todos) out.push(`  todo ${t}`);
  for (const [reason, n] of run.skips) out.push(`  skip ${n}× ${reason}`);
  out.push(...run.summary.map((l) => `  ${l}`), `  full output: ${run.log}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<number> {
  const chosen = (process.env.DSPIPE_TEST_BACKEND ?? '').trim() !== '';
  let backends: BackendName[] = chosen ? [backendName()] : [...BACKEND_NAMES];
  const installed = googleEmulatorsInstalled();
  if (!installed.ok && backends.some((b) => b !== 'dspipe')) {
    if (chosen) {
      process.stdout.write(`DSPIPE_TEST_BACKEND=${backends[0]}: the suite cannot run: ${installed.why}\n`);
      return 1;
    }
    process.stdout.write(`The three-backend suite did not run on legacy/firestore (${installed.why}); running it on dspipe's emulator only.\n`);
    backends = ['dspipe'];
  }
  const files = await suiteFiles();
  const logDir = await mkdtemp(join(tmpdir(), 'dspipe-test-backends-'));
  process.stdout.write(`${files.length} test files on ${backends.join(', ')}: ${files.map((f) => relative(HERE, f)).join(' ')}\n`);
  const runs: Run[] = [];
  for (const backend of backends) {
    const run = await runBackend(backend, files, logDir);
    report(run);
    runs.push(run);
  }
  const sum = (k: keyof Run['counts']) => runs.reduce((n, r) => n + r.counts[k], 0);
  const failed = sum('fail') + sum('cancelled');
  const per = runs.map((r) => `${r.backend} ${r.counts.pass}/${r.counts.fail}/${r.counts.skipped}/${r.counts.todo} in ${r.seconds.toFixed(0)} s`).join(', ');
  process.stdout.write(`${per} (passed/failed/skipped/todo)\n`);
  process.stdout.write(`${sum('pass')} passed, ${failed} failed, ${sum('skipped')} skipped, ${sum('todo')} todo\n`);
  return failed > 0 ? 1 : 0;
}

// `npm test` runs every file under dist/test, this one included: there it is not the runner's turn
// (node --test marks its child processes with NODE_TEST_CONTEXT, and a nested run would test nothing).
if (process.env.NODE_TEST_CONTEXT === undefined) process.exitCode = await main();
