/**
 * Runs every benchmark scenario (dist/bench/*.bench.js), each in its own
 * process so one scenario's heap and JIT state cannot colour another's,
 * repeats it, and reports medians with their spread: a table on stderr and
 * bench/results/latest.json with the machine it ran on.
 *
 *   npm run bench                      everything, 3 repeats (scale, dump, restore: 1, they repeat inside)
 *   npm run bench -- --quick           one short repeat each (CI smoke test, < 1 min)
 *   npm run bench -- --only stages,codec --repeats 5
 *   npm run bench -- --only scale -- --sizes 10000,100000   (after a second --: passed to the scenarios)
 *
 * It reports; it never fails on a number. A scenario that crashes fails the
 * run (after the others have run, so one crash does not hide every figure).
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release, arch, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spread, type Spread } from './lib/stats.js';
import type { BenchReport, BenchRow } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

interface ScenarioResult {
  scenario: string;
  file: string;
  repeats: number;
  seconds: number;
  rows: Array<{ name: string; fields: Record<string, Spread>; text: Record<string, string> }>;
  notes: string[];
}

/**
 * Repeats per scenario when --repeats is not given. These repeat each of
 * their measured runs themselves (medians inside); scale's take minutes.
 */
const DEFAULT_REPEATS: Record<string, number> = { scale: 1, dump: 1, restore: 1 };
/**
 * What --quick passes besides --quick, so the whole quick run stays under a
 * minute on a loaded 2-core machine (the emulator scenario's own quick size
 * takes ~15 s there).
 */
const QUICK_ARGS: Record<string, string[]> = { emulator: ['--entities', '5000'] };
const QUICK_BUDGET_S = 60;

function runScenario(file: string, args: string[]): Promise<BenchReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${file} exited with ${signal ?? code}`));
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (line === undefined) return reject(new Error(`${file} printed no JSON report on stdout`));
      try {
        resolve(JSON.parse(line) as BenchReport);
      } catch (err) {
        reject(new Error(`${file} printed an unreadable report: ${(err as Error).message}`));
      }
    });
  });
}

function aggregate(file: string, reports: BenchReport[], seconds: number): ScenarioResult {
  const byName = new Map<string, BenchRow[]>();
  for (const report of reports) {
    for (const row of report.rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);
  }
  const rows = [...byName].map(([name, samples]) => {
    const fields: Record<string, Spread> = {};
    const text: Record<string, string> = {};
    for (const key of new Set(samples.flatMap((s) => Object.keys(s)))) {
      if (key === 'name') continue;
      const values = samples.map((s) => s[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (values.length > 0) fields[key] = spread(values);
      else if (samples[0]![key] !== undefined) text[key] = String(samples[0]![key]);
    }
    return { name, fields, text };
  });
  return {
    scenario: reports[0]?.scenario ?? file,
    file,
    repeats: reports.length,
    seconds,
    rows,
    notes: [...new Set(reports.flatMap((r) => r.notes ?? []))],
  };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

function table(result: ScenarioResult): string {
  const lines = [`\n== ${result.scenario} (${result.repeats} run${result.repeats === 1 ? '' : 's'}, ${result.seconds.toFixed(1)} s)`];
  for (const row of result.rows) {
    const cells = Object.entries(row.fields).map(([k, s]) => {
      const range = s.samples.length > 1 ? ` ±${(s.relSpread * 50).toFixed(0)}%` : '';
      return `${k}=${fmt(s.median)}${range}`;
    });
    const text = Object.entries(row.text).map(([k, v]) => `${k}=${v}`);
    lines.push(`  ${row.name.padEnd(34)} ${[...cells, ...text].join('  ')}`);
  }
  for (const note of result.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'latest.json') },
    },
  });
  const fixedRepeats = values.repeats !== undefined ? Number(values.repeats) : undefined;
  if (fixedRepeats !== undefined && (!Number.isInteger(fixedRepeats) || fixedRepeats < 1)) throw new Error(`--repeats must be a whole number ≥ 1, got ${values.repeats}`);
  const only = values.only?.split(',').map((s) => s.trim());
  const files = (await readdir(here))
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => only === undefined || only.includes(f.replace(/\.bench\.js$/, '')))
    .sort();
  if (files.length === 0) throw new Error(`no scenarios match ${values.only ?? '(all)'} in ${here}`);
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  const loadBefore = loadavg()[0]!;
  const started = performance.now();
  for (const file of files) {
    const name = file.replace(/\.bench\.js$/, '');
    const repeats = fixedRepeats ?? (values.quick ? 1 : DEFAULT_REPEATS[name] ?? 3);
    const args = [...(values.quick ? ['--quick', ...(QUICK_ARGS[name] ?? [])] : []), ...positionals];
    const reports: BenchReport[] = [];
    const start = performance.now();
    try {
      for (let i = 0; i < repeats; i++) {
        process.stderr.write(`bench: ${file} run ${i + 1}/${repeats}\n`);
        reports.push(await runScenario(join(here, file), args));
      }
    } catch (err) {
      failures.push((err as Error).message);
      process.stderr.write(`bench: ${(err as Error).message}\n`);
      continue;
    }
    const result = aggregate(file, reports, (performance.now() - start) / 1000);
    results.push(result);
    process.stderr.write(`${table(result)}\n`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpus();
  const output = {
    date: new Date().toISOString(),
    quick: values.quick,
    seconds: +seconds.toFixed(1),
    failures,
    machine: {
      node: process.version,
      platform: `${platform()} ${release()} ${arch()}`,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      // A shared machine's load colours every figure: keep it beside them.
      loadAverage1m: { before: +loadBefore.toFixed(2), after: +loadavg()[0]!.toFixed(2) },
    },
    results,
  };
  await mkdir(dirname(values.out), { recursive: true });
  const tmp = `${values.out}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(output, null, 2)}\n`);
  await rename(tmp, values.out);
  process.stderr.write(`\nbench: ${results.length} scenario(s) in ${seconds.toFixed(1)} s; results written to ${values.out}\n`);
  if (values.quick && seconds > QUICK_BUDGET_S) {
    process.stderr.write(`bench: note: --quick took ${seconds.toFixed(0)} s, over its ${QUICK_BUDGET_S} s budget (load average ${loadavg()[0]!.toFixed(1)} on ${cpu.length} cores)\n`);
  }
  if (failures.length > 0) throw new Error(`${failures.length} scenario(s) crashed:\n  ${failures.join('\n  ')}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
