/** Running the dspipe CLI as a child process, for the restore/clear/cat/demo CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function collectOutput(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Runs `dspipe ...argv` with a clean Datastore environment; `input` goes to stdin. */
export function dspipe(argv: string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [MAIN, ...argv], {
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, DATASTORE_EMULATOR_HOST: '', GOOGLE_CLOUD_PROJECT: '', DATASTORE_PROJECT_ID: '', ...options.env },
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  return collectOutput(child);
}

/** Every long flag a help text must mention. */
export function flagsOf(options: Record<string, unknown>): string[] {
  return Object.keys(options).map((name) => `--${name}`);
}
