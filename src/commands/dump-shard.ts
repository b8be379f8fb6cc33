/**
 * `dspipe dump -n NAME --shard I/N | --shard auto`: one task of a dump spread
 * over many machines (Cloud Run Job tasks, a Kubernetes Indexed Job), all on
 * one shared folder. The task takes its parts of plan.json (partsOfShard),
 * reads each key range at the plan's read time,
 *
 *   entityReader [start, end) → serializer → compressor → fileSink (parts/NNNNN.ndjson.zst)
 *
 * and after each part rewrites its manifest (tasks/I-of-N.json). Run again
 * (the engine's retry), it keeps the parts whose file still matches size and
 * sha256 and redoes only the rest. When it finds every part of the plan done,
 * it finalizes the dump itself (dump-finalize.ts) unless another task got
 * there first.
 *
 * No lock per task: a part's bytes depend only on the plan, so two attempts
 * of one task racing (an engine that starts a replacement early) write the
 * same file twice, atomically.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DspipeError, isDspipeError } from '../errors.js';
import { rfc3339ToTimestamp } from '../datastore/run-query.js';
import { normalizeDumpOptions, readTimeProblem } from '../options/dump.js';
import type { ShardSpec } from '../options/shard.js';
import { partFile, partsOfShard, taskFile, TASKS_DIR, type DumpPlan, type PartDone, type PlanPart, type TaskManifest } from '../format/dump-plan.js';
import { MANIFEST_FILE } from '../format/manifest.js';
import { createEntityReader, ReadAheadBudget } from '../stages/entity-reader.js';
import { createSerializer } from '../stages/serializer.js';
import { createRawTransport } from '../datastore/raw-transport.js';
import { wirePageFetcher } from '../datastore/raw-run-query.js';
import { createCompressor } from '../stages/compressor.js';
import { createFileSink } from '../stages/file-sink.js';
import { fileSha256, readExistingManifest } from './dump-folder.js';
import { runKinds } from './kind-scheduler.js';
import { LineLog, readPlan, readTasks, TaskManifestFile } from './dump-shard-files.js';
import { finalizeDump, type FinalizeSummary } from './dump-finalize.js';
import { describeRpcError, retryEvent, withCommandContext, type CommandContext, type ResolvedContext, type RetryEvent, type WarningEvent } from './context.js';
import { READ_AHEAD_BYTES, type DumpRunOptions } from './dump.js';

export type ShardEvent =
  | { type: 'shard-start'; name: string; index: number; count: number; parts: number; kept: number }
  | { type: 'part-start'; id: number; namespace: string; kind: string; estimate: number }
  | { type: 'part-progress'; id: number; namespace: string; kind: string; entities: number; rawBytes: number }
  | { type: 'part-done'; id: number; namespace: string; kind: string; entities: number; rawBytes: number; bytes: number; seconds: number }
  /** All parts were done when this task ended: `by` says who finalizes. */
  | { type: 'finalize'; by: 'this task' | 'another task' }
  | RetryEvent
  | WarningEvent;

export type ShardContext = CommandContext<ShardEvent>;

export interface ShardSummary {
  name: string;
  dir: string;
  shard: { index: number; count: number };
  readTime: string | null;
  /** This task's parts, in id order. */
  parts: Array<PartDone & { namespace: string; kind: string; kept: boolean }>;
  entities: number;
  bytes: number;
  retries: number;
  /** The finished dump when this task finalized it; null when parts of other tasks are still missing or another task finalizes. */
  finalized: FinalizeSummary | null;
  seconds: number;
}

/** A part written by an earlier attempt, if its file is still whole. */
async function intact(dir: string, done: PartDone): Promise<boolean> {
  const size = await stat(join(dir, done.file)).then((s) => s.size, () => -1);
  return size === done.bytes && (await fileSha256(join(dir, done.file)).catch(() => '')) === done.sha256;
}

/** The source named in the plan must be the one this task talks to. */
function checkSource(plan: DumpPlan, connection: { projectId: string; databaseId: string }, file: string): void {
  if (plan.source.projectId !== connection.projectId || plan.source.databaseId !== connection.databaseId) {
    const db = (d: string) => (d === '' ? '(default)' : d);
    throw new DspipeError('DSPIPE_INVALID_OPTION', `the plan is for ${plan.source.projectId}/${db(plan.source.databaseId)}, this task reads ${connection.projectId}/${db(connection.databaseId)}`, {
      file,
      hint: 'give every task the same --project and --database as the plan',
    });
  }
}

export async function dumpShard(options: DumpRunOptions, context: ShardContext = {}): Promise<ShardSummary> {
  const started = Date.now();
  const o = normalizeDumpOptions(options);
  const shard: ShardSpec = o.sharding.shard ?? normalizeDumpOptions({ ...options, shard: '0/1' }).sharding.shard!;
  const dir = o.dir!;
  return withCommandContext(context, async (ctx) => {
    const plan = await readPlan(dir);
    const finished = await readExistingManifest(dir);
    checkSource(plan, ctx.connection, join(dir, 'plan.json'));
    const base = { name: plan.name, dir, shard: { index: shard.index, count: shard.count }, readTime: plan.readTime };
    if (finished?.complete) {
      // A task retried after the dump was finalized: nothing to do.
      ctx.emit({ type: 'warning', message: `the dump ${dir} is finished already (${MANIFEST_FILE} is complete): nothing to do` });
      return { ...base, parts: [], entities: 0, bytes: 0, retries: 0, finalized: null, seconds: (Date.now() - started) / 1000 };
    }
    // Every task reads at the plan's read time, which Datastore serves only for so long (as dump --resume checks).
    const problem = plan.readTime === null ? undefined : readTimeProblem(plan.readTime);
    if (problem) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `cannot dump this task: the plan's read time ${plan.readTime} ${problem.what}`, {
        file: join(dir, 'plan.json'),
        hint: `${problem.hint}; plan again with --plan --force and run every task (size the job to finish within the retention)`,
      });
    }
    const readTime = plan.readTime === null ? undefined : rfc3339ToTimestamp(plan.readTime);
    const mine = partsOfShard(plan, shard.index, shard.count);
    await mkdir(join(dir, TASKS_DIR), { recursive: true });
    const log = new LineLog(join(dir, taskFile(shard.index, shard.count).replace(/\.json$/, '.log')));
    const manifestFile = new TaskManifestFile(join(dir, taskFile(shard.index, shard.count)));
    const earlier = (await readTasks(dir)).find((t) => t.file === manifestFile.path)?.task;
    const kept: PartDone[] = [];
    for (const d of earlier?.done ?? []) if (mine.some((p) => p.id === d.id) && (await intact(dir, d))) kept.push(d);
    const task: TaskManifest = {
      format: 'dspipe-dump-task',
      name: plan.name,
      index: shard.index,
      count: shard.count,
      parts: mine.map((p) => p.id),
      done: [...kept],
      complete: false,
      startedAt: earlier?.startedAt ?? new Date(started).toISOString(),
      finishedAt: null,
    };
    await manifestFile.write(task);
    log.log(`${earlier ? 'rerun' : 'start'} shard ${shard.index}/${shard.count} (${shard.from}) of ${plan.name}: ${mine.length} parts${kept.length ? `, ${kept.length} kept` : ''}, read time ${plan.readTime ?? 'none'}`);
    ctx.emit({ type: 'shard-start', name: plan.name, index: shard.index, count: shard.count, parts: mine.length, kept: kept.length });

    let retries = 0;
    const budget = new ReadAheadBudget(READ_AHEAD_BYTES);
    // The wire path (issue 14) unless --transport object, as in a single-machine dump.
    const raw = o.transport === 'wire' ? createRawTransport(ctx.client, ctx.connection) : undefined;
    const fetchPage = raw && wirePageFetcher(raw, ctx.connection);
    const keptIds = new Set(kept.map((d) => d.id));
    const todo = mine.filter((p) => !keptIds.has(p.id));
    const describe = (p: PlanPart) => `part ${p.id} (${JSON.stringify(p.namespace)}/${JSON.stringify(p.kind)})`;
    try {
      await runKinds(todo, { concurrency: o.concurrency, signal: ctx.signal, onFailure: (err, p) => log.log(`failed ${describe(p)}: ${describeRpcError(err)}`) }, async (part, signal) => {
        const partStarted = Date.now();
        const ref = { namespace: part.namespace, kind: part.kind };
        ctx.emit({ type: 'part-start', id: part.id, ...ref, estimate: part.estimate });
        const serializer = createSerializer();
        const reader = createEntityReader(ctx.client, ctx.connection, {
          ...ref,
          readTime,
          ...(part.start && { startAt: part.start }),
          ...(part.end && { endBefore: part.end }),
          pageSize: o.pageSize,
          retry: ctx.retry,
          budget,
          fetchPage,
          onProgress: () => ctx.emit({ type: 'part-progress', id: part.id, ...ref, entities: reader.results, rawBytes: serializer.rawBytes }),
          onRetry: (err, attempt, delayMs) => {
            retries++;
            ctx.emit(retryEvent(err, attempt, delayMs, ref));
          },
        });
        const file = partFile(part.id, plan.compression);
        await mkdir(join(dir, file, '..'), { recursive: true });
        const sink = createFileSink(join(dir, file));
        await pipeline(reader, serializer, createCompressor({ compression: plan.compression, level: plan.level }), sink, { signal });
        const done: PartDone = { id: part.id, file, entities: serializer.entities, rawBytes: serializer.rawBytes, bytes: sink.bytes, sha256: sink.sha256 };
        task.done.push(done);
        task.done.sort((a, b) => a.id - b.id);
        await manifestFile.write(task);
        const seconds = (Date.now() - partStarted) / 1000;
        log.log(`done ${describe(part)}: ${done.entities} entities, ${done.bytes} bytes in ${file} (${seconds.toFixed(1)} s)`);
        ctx.emit({ type: 'part-done', id: part.id, ...ref, entities: done.entities, rawBytes: done.rawBytes, bytes: done.bytes, seconds });
      });
    } catch (err) {
      await manifestFile.write(task).catch(() => {});
      log.log('stopped; run this task again to finish its parts');
      await log.flush();
      throw err;
    }
    task.complete = true;
    task.finishedAt = new Date().toISOString();
    await manifestFile.write(task);
    log.log(`finished shard ${shard.index}/${shard.count}: ${task.done.length} parts`);
    await log.flush();

    const finalized = await finalizeIfLast(dir, plan, { ...options, root: o.root, name: o.name }, ctx);
    const byId = new Map(mine.map((p) => [p.id, p]));
    const parts = task.done.map((d) => ({ ...d, namespace: byId.get(d.id)!.namespace, kind: byId.get(d.id)!.kind, kept: keptIds.has(d.id) }));
    return {
      ...base,
      parts,
      entities: parts.reduce((n, p) => n + p.entities, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
      retries,
      finalized,
      seconds: (Date.now() - started) / 1000,
    };
  });
}

/**
 * The last task to finish finalizes: once every part of the plan is in some
 * task's manifest, try; another task finalizing at the same moment holds the
 * folder's lock, and then this one leaves it to that one.
 */
async function finalizeIfLast(dir: string, plan: DumpPlan, options: DumpRunOptions, ctx: ResolvedContext<ShardEvent>): Promise<FinalizeSummary | null> {
  const done = new Set<number>();
  for (const { task } of await readTasks(dir)) for (const d of task.done) done.add(d.id);
  if (plan.parts.some((p) => !done.has(p.id))) return null;
  try {
    const summary = await finalizeDump({ ...options, shard: undefined, shardCount: undefined, finalize: true }, { signal: ctx.signal, onEvent: (e) => ctx.emit(e) });
    ctx.emit({ type: 'finalize', by: 'this task' });
    return summary;
  } catch (err) {
    if (isDspipeError(err, 'DSPIPE_DUMP_LOCKED')) {
      ctx.emit({ type: 'finalize', by: 'another task' });
      return null;
    }
    throw err;
  }
}
