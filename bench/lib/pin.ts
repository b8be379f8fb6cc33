/**
 * CPU pinning for benches that put the emulator and the client on cores of
 * their own (`taskset -c`), so that a latency-bound run measures the client's
 * concurrency, not the two processes taking turns on one core. Linux only;
 * where taskset is missing or this process may not use both cores, pinning is
 * refused with the reason and the bench runs unpinned and says so.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** The emulator on one core, every measured client on the other. */
export const PIN = { emulator: '1', client: '0' } as const;

/** A spawn's command and arguments, run under `taskset -c cpus` when `cpus` is given. */
export function pinned(cpus: string | undefined, command: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [command, [...args]] : ['taskset', ['-c', cpus, command, ...args]];
}

/** Whether PIN can be applied here; `why` says what is missing when not. */
export function pinning(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== 'linux') return { ok: false, why: `taskset is Linux-only (this is ${process.platform})` };
  if (availableParallelism() < 2) return { ok: false, why: `this process may use ${availableParallelism()} CPU, pinning needs 2` };
  const r = spawnSync('taskset', ['-c', `${PIN.emulator},${PIN.client}`, 'true'], { stdio: 'ignore' });
  if (r.error) return { ok: false, why: `taskset could not be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}; it is in util-linux)` };
  if (r.status !== 0) return { ok: false, why: `taskset -c ${PIN.emulator},${PIN.client} exited with ${r.status} (are CPUs ${PIN.client} and ${PIN.emulator} online and allowed?)` };
  return { ok: true };
}
