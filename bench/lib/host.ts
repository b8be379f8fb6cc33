/**
 * The parent's side of bench/lib/emulator-host.ts: starts the emulator in a
 * child process serving one store on one port per latency, and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './pin.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface EmulatorHost {
  ports: Record<string, number>;
  /** The emulator's process id (taskset execs it, so the same pid): for reading its CPU time from /proc. */
  pid: number;
  /** host:port of the server that adds `latency` ms per RPC. */
  address(latency: number): string;
  stop(): Promise<void>;
}

/** `cpus`: run the emulator under `taskset -c cpus` (bench/lib/pin.ts). */
export async function startEmulatorHost(latencies: readonly number[], cpus?: string): Promise<EmulatorHost> {
  // EMULATOR_NODE_OPTIONS lets a profiler ride along in the emulator only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = (process.env.EMULATOR_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(...pinned(cpus, process.execPath, [...nodeArgs, join(here, 'emulator-host.js'), '--latencies', latencies.join(',')]), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    out += chunk as string;
    if (out.includes('\n')) break;
  }
  if (!out.includes('\n')) throw new Error('the emulator host exited before printing its ports');
  const { ports } = JSON.parse(out) as { ports: Record<string, number> };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    ports,
    pid: child.pid!,
    address: (latency) => `127.0.0.1:${ports[String(latency)]}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
