/**
 * The protocol between a benchmark scenario and bench/run.ts. A scenario is a
 * script that runs in its own process and prints exactly one JSON object on
 * stdout (progress goes to stderr):
 *
 *   { "scenario": "codec", "rows": [ { "name": "encode medium", "entitiesPerSec": 123, "mbPerSec": 4.5,
 *                                      "ceilingEntitiesPerSec": 200, "ratio": 0.61 }, … ] }
 *
 * Every numeric field of a row is aggregated across repeats by the runner
 * (median, min, max); rows are matched by name.
 */
export interface BenchRow {
  name: string;
  [field: string]: number | string | boolean | null | undefined;
}

export interface BenchReport {
  scenario: string;
  rows: BenchRow[];
  notes?: string[];
}

export function emitReport(report: BenchReport): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function isQuick(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--quick');
}

/** Peak resident set size of this process so far, in MB (Linux: ru_maxrss is KiB). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
