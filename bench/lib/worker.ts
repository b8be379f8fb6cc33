/**
 * Runs a bench worker script (bench/lib/*-worker.js) in its own Node process and
 * resolves with the JSON object it prints as its last stdout line. The scale and
 * wire benches both measure a client in a process of its own this way.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './pin.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** `cpus`: run the worker under `taskset -c cpus` (bench/lib/pin.ts). */
export function runWorker<R>(script: string, job: { type: string }, extraArgs: readonly string[] = [], cpus?: string): Promise<R> {
  return new Promise((resolve, reject) => {
    // WORKER_NODE_OPTIONS lets a profiler ride along in each worker only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
    // (Node refuses --cpu-prof in NODE_OPTIONS); the profile's file name then carries the job's type.
    const nodeArgs = (process.env.WORKER_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
    if (nodeArgs.includes('--cpu-prof')) {
      const transport = (job as { transport?: unknown }).transport;
      nodeArgs.push(`--cpu-prof-name=${job.type}${typeof transport === 'string' ? `-${transport}` : ''}.cpuprofile`);
    }
    const child = spawn(...pinned(cpus, process.execPath, [...nodeArgs, join(here, script), JSON.stringify(job), ...extraArgs]), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`${job.type} worker exited with ${code}`));
      resolve(JSON.parse(line) as R);
    });
  });
}
