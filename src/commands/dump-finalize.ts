/**
 * `dspipe dump -n NAME --finalize` (or the last task to finish): checks every
 * part of a sharded dump and writes the dump a single machine would have
 * written from the same read time — the same kind files, byte for byte, and
 * the same manifest.json (only its startedAt/finishedAt are this job's own).
 *
 * Per kind, in the plan's order:
 *   - one part (most kinds): its file is already the kind file a single
 *     machine writes (one zstd stream of the kind's lines in key order);
 *     checked (size, sha256) and renamed into place once every kind's
 *     parts have been checked (a damaged part anywhere leaves all in place);
 *   - several parts: each is checked and decompressed in key order and the
 *     lines go through one compressor into the kind file, as a single
 *     machine's one stream would (zstd's output depends only on the bytes
 *     and the level, not on how they arrive). This is the one step that
 *     costs time at the end: about one zstd pass over the kind.
 * Then manifest.json (atomically, last), dump.log (the tasks' logs in task
 * order) and the parts and tasks folders go. plan.json stays, saying how the
 * dump was made. The folder's lock is held meanwhile: two finalizers never
 * run at once.
 */
import { appendFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DspipeError, isDspipeError } from '../errors.js';
import { normalizeDumpOptions } from '../options/dump.js';
import { FORMAT_NAME, FORMAT_VERSION, type DumpManifest, type ManifestKind } from '../format/manifest.js';
import { PARTS_DIR, TASKS_DIR, type PartDone } from '../format/dump-plan.js';
import { createFileSource } from '../stages/file-source.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createCompressor } from '../stages/compressor.js';
import { createFileSink } from '../stages/file-sink.js';
import { DumpFolder, DUMP_LOG_FILE, readExistingManifest } from './dump-folder.js';
import { lockDumpFolder } from './dump-lock.js';
import { runKinds } from './kind-scheduler.js';
import { readPlan, readTasks } from './dump-shard-files.js';
import type { WarningEvent } from './context.js';
import type { DumpRunOptions } from './dump.js';

export interface FinalizeContext {
  signal?: AbortSignal;
  onEvent?: (event: WarningEvent) => void;
}

export interface FinalizeSummary {
  name: string;
  dir: string;
  readTime: string | null;
  kinds: number;
  parts: number;
  entities: number;
  bytes: number;
  /** Kinds whose parts were joined by recompressing (the rest were renamed). */
  joined: number;
  /** false: the dump was finished already, nothing was done. */
  wrote: boolean;
  seconds: number;
}

/** Where each part's file is, from the task manifests; a task that ran twice with different N may list one part twice. */
async function partsDone(dir: string): Promise<Map<number, { done: PartDone; task: string }>> {
  const out = new Map<number, { done: PartDone; task: string }>();
  for (const { file, task } of await readTasks(dir)) {
    for (const d of task.done) if (!out.has(d.id)) out.set(d.id, { done: d, task: `${task.index}/${task.count} (${file})` });
  }
  return out;
}

function asEntry(d: PartDone, ref: { namespace: string; kind: string }): ManifestKind {
  return { ...ref, file: d.file, entities: d.entities, rawBytes: d.rawBytes, bytes: d.bytes, sha256: d.sha256, complete: true };
}

export async function finalizeDump(options: DumpRunOptions, context: FinalizeContext = {}): Promise<FinalizeSummary> {
  const started = Date.now();
  const o = normalizeDumpOptions({ ...options, finalize: true });
  const dir = o.dir!;
  const plan = await readPlan(dir);
  const lock = await lockDumpFolder(dir, 'dump --finalize');
  try {
    const existing = await readExistingManifest(dir);
    const base = { name: plan.name, dir, readTime: plan.readTime, kinds: plan.kinds.length, parts: plan.parts.length };
    if (existing?.complete) {
      const sum = (f: (k: ManifestKind) => number) => existing.kinds.reduce((n, k) => n + f(k), 0);
      return { ...base, entities: sum((k) => k.entities), bytes: sum((k) => k.bytes), joined: 0, wrote: false, seconds: (Date.now() - started) / 1000 };
    }
    const done = await partsDone(dir);
    const missing = plan.parts.filter((p) => !done.has(p.id));
    if (missing.length > 0) {
      const tasks = await readTasks(dir);
      const owners = [...new Set(missing.flatMap((p) => tasks.filter((t) => t.task.parts.includes(p.id)).map((t) => `${t.task.index}/${t.task.count}`)))];
      throw new DspipeError('DSPIPE_CORRUPT_DUMP', `${missing.length} of ${plan.parts.length} parts are not dumped yet (first: part ${missing[0]!.id}, ${JSON.stringify(missing[0]!.namespace)}/${JSON.stringify(missing[0]!.kind)})`, {
        file: dir,
        hint: owners.length > 0 ? `run the task(s) ${owners.slice(0, 8).join(', ')}${owners.length > 8 ? ', …' : ''} again (dspipe dump -n NAME --shard I/N), then finalize` : 'run every task (dspipe dump -n NAME --shard I/N for I = 0 … N-1), then finalize',
      });
    }
    const kinds: ManifestKind[] = new Array(plan.kinds.length);
    let joined = 0;
    // A kind of one part is renamed into place, which takes its part away: done only once every part of every
    // kind has been checked, so a damaged part elsewhere fails the finalize with all the parts still there (the
    // task run again redoes only the damaged one, not every single-part kind finalize had already moved).
    const moves: Array<[from: string, to: string]> = [];
    await runKinds([...plan.kinds.keys()], { concurrency: o.concurrency, signal: context.signal }, async (i, signal) => {
      const k = plan.kinds[i]!;
      const ref = { namespace: k.namespace, kind: k.kind };
      const parts = plan.parts.filter((p) => p.namespace === k.namespace && p.kind === k.kind).map((p) => done.get(p.id)!);
      const target = join(dir, ...k.file.split('/'));
      await mkdir(join(target, '..'), { recursive: true });
      const entities = parts.reduce((n, p) => n + p.done.entities, 0);
      const rawBytes = parts.reduce((n, p) => n + p.done.rawBytes, 0);
      // Size and sha256 checked as each part is read; a damaged one fails with its file named.
      const checked = (p: { done: PartDone; task: string }) => createFileSource(dir, asEntry(p.done, ref));
      try {
        if (parts.length === 1) {
          const only = parts[0]!;
          for await (const _ of checked(only)) signal.throwIfAborted();
          moves.push([join(dir, only.done.file), target]);
          kinds[i] = { ...ref, file: k.file, entities, rawBytes, bytes: only.done.bytes, sha256: only.done.sha256, complete: true };
          return;
        }
        joined++;
        async function* lines(): AsyncGenerator<Buffer> {
          for (const p of parts) {
            const source = checked(p);
            const raw = createDecompressor({ file: join(dir, p.done.file), maxBytes: p.done.rawBytes });
            source.pipe(raw);
            source.once('error', (err) => raw.destroy(err));
            for await (const chunk of raw) yield chunk as Buffer;
          }
        }
        const sink = createFileSink(target);
        await pipeline(Readable.from(lines()), createCompressor({ compression: plan.compression, level: plan.level }), sink, { signal });
        kinds[i] = { ...ref, file: k.file, entities, rawBytes, bytes: sink.bytes, sha256: sink.sha256, complete: true };
      } catch (err) {
        if (isDspipeError(err, 'DSPIPE_CORRUPT_DUMP')) {
          const bad = parts.find((p) => err.file?.endsWith(p.done.file));
          throw new DspipeError('DSPIPE_CORRUPT_DUMP', `a part of ${JSON.stringify(k.namespace)}/${JSON.stringify(k.kind)} is damaged: ${err.message}`, {
            file: err.file ?? dir,
            kind: k.kind,
            namespace: k.namespace,
            cause: err,
            hint: bad ? `run task ${bad.task.replace(/ \(.*$/, '')} again: it redoes the parts whose files do not match, then finalize` : 'run the tasks again, then finalize',
          });
        }
        throw err;
      }
    });
    for (const [from, to] of moves) await rename(from, to);
    const manifest: DumpManifest = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      dspipeVersion: plan.dspipeVersion,
      source: plan.source,
      readTime: plan.readTime,
      snapshot: plan.snapshot,
      ...(plan.snapshotReason !== undefined && { snapshotReason: plan.snapshotReason }),
      startedAt: plan.createdAt,
      finishedAt: new Date().toISOString(),
      complete: true,
      compression: plan.compression,
      kinds,
    };
    const folder = new DumpFolder(dir);
    // dump.log: each task's log in task order, then ours.
    const logs: string[] = [];
    for (const { file } of await readTasks(dir)) logs.push(await readFile(file.replace(/\.json$/, '.log'), 'utf8').catch(() => ''));
    await rm(join(dir, DUMP_LOG_FILE), { force: true });
    await writeLog(dir, logs.join(''));
    folder.log(`finalized ${plan.name}: ${plan.parts.length} parts into ${kinds.length} kind files (${joined} joined), ${kinds.reduce((n, k) => n + k.entities, 0)} entities`);
    await folder.flushLog();
    await folder.writeManifest(manifest);
    await rm(join(dir, PARTS_DIR), { recursive: true, force: true });
    await rm(join(dir, TASKS_DIR), { recursive: true, force: true });
    return {
      ...base,
      entities: kinds.reduce((n, k) => n + k.entities, 0),
      bytes: kinds.reduce((n, k) => n + k.bytes, 0),
      joined,
      wrote: true,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await lock.release();
  }
}

async function writeLog(dir: string, text: string): Promise<void> {
  if (text !== '') await appendFile(join(dir, DUMP_LOG_FILE), text);
}
