/**
 * The files of a sharded dump on the shared folder: plan.json, the task
 * manifests under tasks/, and each task's log (joined into dump.log when the
 * dump is finalized). Every write is atomic (temp file + rename), as on a GCS
 * volume a rename of a finished object is what other tasks may see.
 */
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DspipeError } from '../errors.js';
import { formatJson, parsePlan, parseTaskManifest, PLAN_FILE, TASKS_DIR, type DumpPlan, type TaskManifest } from '../format/dump-plan.js';
import { writeFileAtomic } from './dump-folder.js';

export async function readPlan(dir: string, o: { optional: true }): Promise<DumpPlan | undefined>;
export async function readPlan(dir: string, o?: { optional?: false }): Promise<DumpPlan>;
export async function readPlan(dir: string, o: { optional?: boolean } = {}): Promise<DumpPlan | undefined> {
  const file = join(dir, PLAN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new DspipeError('DSPIPE_IO', `cannot read the plan: ${(err as Error).message}`, { file, cause: err });
    if (o.optional) return undefined;
    throw new DspipeError('DSPIPE_NOT_FOUND', `no plan for this dump (${file})`, { file, hint: 'make one first: dspipe dump --plan -n NAME (same --root and -n)' });
  }
  return parsePlan(text, file);
}

/** Every task manifest in tasks/ (of any task count: a job re-run with another N leaves its own). */
export async function readTasks(dir: string): Promise<Array<{ file: string; task: TaskManifest }>> {
  const folder = join(dir, TASKS_DIR);
  const names = await readdir(folder).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: Array<{ file: string; task: TaskManifest }> = [];
  for (const name of names.filter((n) => /^\d+-of-\d+\.json$/.test(n)).sort()) {
    const file = join(folder, name);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) out.push({ file, task: parseTaskManifest(text, file) });
  }
  return out;
}

/** A task's manifest, rewritten in the order it is handed over. */
export class TaskManifestFile {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly path: string) {}

  write(task: TaskManifest): Promise<void> {
    const text = formatJson(task);
    const next = this.chain.then(async () => {
      await mkdir(join(this.path, '..'), { recursive: true });
      await writeFileAtomic(this.path, text);
    });
    this.chain = next.catch(() => {});
    return next;
  }
}

/** Timestamped lines appended to one file; a log that cannot be written never fails the run. */
export class LineLog {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly path: string) {}

  log(line: string): void {
    const text = `${new Date().toISOString()} ${line}\n`;
    this.chain = this.chain.then(() => appendFile(this.path, text)).catch(() => {});
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
