/**
 * Runs every benchmark scenario (dist/bench/*.bench.js), each in its own
 * process so one scenario's heap and JIT state cannot colour another's,
 * repeats it, and reports medians with their spread: a table on stderr and
 * bench/results/latest.json with the machine it ran on.
 *
 *   npm run bench                      everything, 3 repeats
 *   npm run bench -- --quick           one short repeat each (CI smoke test)
 *   npm run bench -- --only dump,codec --repeats 5
 *
 * It reports; it never fails on a number. A scenario that crashes fails the run.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, release, arch } from 'node:os';
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
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      repeats: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'latest.json') },
    },
  });
  const repeats = values.repeats !== undefined ? Number(values.repeats) : values.quick ? 1 : 3;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a whole number ≥ 1, got ${values.repeats}`);
  const only = values.only?.split(',').map((s) => s.trim());
  const files = (await readdir(here))
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => only === undefined || only.includes(f.replace(/\.bench\.js$/, '')))
    .sort();
  if (files.length === 0) throw new Error(`no scenarios match ${values.only ?? '(all)'} in ${here}`);
  const args = values.quick ? ['--quick'] : [];
  const results: ScenarioResult[] = [];
  for (const file of files) {
    const reports: BenchReport[] = [];
    const start = performance.now();
    for (let i = 0; i < repeats; i++) {
      process.stderr.write(`bench: ${file} run ${i + 1}/${repeats}\n`);
      reports.push(await runScenario(join(here, file), args));
    }
    const result = aggregate(file, reports, (performance.now() - start) / 1000);
    results.push(result);
    process.stderr.write(`${table(result)}\n`);
  }
  const cpu = cpus();
  const output = {
    date: new Date().toISOString(),
    quick: values.quick,
    machine: {
      node: process.version,
      platform: `${platform()} ${release()} ${arch()}`,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    results,
  };
  await mkdir(dirname(values.out), { recursive: true });
  const tmp = `${values.out}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(output, null, 2)}\n`);
  await rename(tmp, values.out);
  process.stderr.write(`\nbench: results written to ${values.out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
