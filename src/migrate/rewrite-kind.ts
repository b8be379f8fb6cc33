/**
 * Migrates one namespace/kind in place:
 *
 *   entityReader -> transformer -> batcher -> entityWriter (baseVersion)
 *                                               └ conflicts -> ConflictResolver
 *
 * Read in key order without a snapshot (we want the newest versions; the
 * baseVersion check catches anything newer still). The checkpoint frontier
 * advances as commits land. Every `checkpointEvery` entities the transformer
 * holds its writes while `onCheckpoint` saves the frontier, the committed
 * counts and a new write window (checkpoint.ts): what a killed run had
 * written past its checkpoint is then recognised on resume and never
 * transformed twice. Also saved at the end and when the run fails.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { IKey } from '../model/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import type { WriteOp } from '../format/batching.js';
import { createBatcher } from '../stages/batcher.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { createEntityWriter, type CommitBudget } from '../stages/entity-writer.js';
import type { WriteRateLimiter } from '../datastore/write-rate.js';
import { createTransformer, type ChangeExample, type Transformer } from './transformer.js';
import { compareKeyPaths } from '../model/key-order.js';
import { ConflictResolver } from './conflicts.js';
import type { ScriptRef } from './outcome.js';
import { DspipeError, isDspipeError } from '../errors.js';
import type { MigrationCounts } from './record.js';
import type { WriteWindow } from './checkpoint.js';

export interface RewriteKindOptions {
  namespace: string;
  kind: string;
  script: ScriptRef;
  /** Resume after this key (from the record's checkpoint). */
  resumeAfter?: IKey | null;
  /** The killed run's write windows (from the record's checkpoint); null `after`s mean `recordVersion`. */
  windows?: readonly WriteWindow[];
  /** The record's version as read before this run saved it. */
  recordVersion?: string;
  /** The request-size budget to learn into, shared by every kind of one migration. */
  budget?: CommitBudget;
  /** The run's write rate, shared by every kind. */
  rate?: WriteRateLimiter;
  dryRun?: boolean;
  writers?: number;
  /** Entities per commit at most (default: the batcher's). */
  batchSize?: number;
  maxConflictAttempts?: number;
  checkpointEvery?: number;
  examples?: number;
  retry?: RetryPolicy;
  pageSize?: number;
  /** Stops the rewrite; what was committed is checkpointed first. */
  signal?: AbortSignal;
  /**
   * Saves progress: `lastKey` and everything before it are migrated and
   * committed, `counts` are theirs, and writes to keys up to each window's
   * `upTo` may have been sent. Returns the saved record's version (which
   * becomes the `after` of windows whose `after` is null).
   */
  onCheckpoint?: (lastKey: IKey | null, counts: MigrationCounts, windows: WriteWindow[]) => Promise<string | void>;
  /** Called as entities are handled, for progress display. */
  onProgress?: (counts: MigrationCounts) => void;
}

export interface RewriteKindResult {
  counts: MigrationCounts;
  /** Entities passed over because an earlier run migrated them. */
  skipped: number;
  /** Entities past the checkpoint that a killed earlier run had rewritten: counted as changed, not transformed again. */
  recovered: number;
  examples: ChangeExample[];
}

/** The writer's "Datastore refused the entity" is the script's doing here: say so, with a hint that fits. */
function refusedByDatastore(err: unknown, script: ScriptRef): DspipeError | undefined {
  if (!isDspipeError(err, 'DSPIPE_REJECTED_ENTITY') && !isDspipeError(err, 'DSPIPE_ENTITY_TOO_LARGE')) return undefined;
  return new DspipeError('DSPIPE_MIGRATION_FAILED', `migration ${script.name} produced an entity Datastore refused: ${err.message}`, {
    file: script.file,
    ...(err.key !== undefined && { key: err.key }),
    ...(err.kind !== undefined && { kind: err.kind }),
    ...(err.namespace !== undefined && { namespace: err.namespace }),
    cause: err,
    hint: 'make the transform produce a valid entity (e.g. set long strings with { excludeFromIndexes: true }), then run up again',
  });
}

const signalOf = (options: RewriteKindOptions) => (options.signal ? [{ signal: options.signal }] : []);

export async function rewriteKind(client: DatastoreClient, connection: Connection, options: RewriteKindOptions): Promise<RewriteKindResult> {
  const { namespace, kind, script } = options;
  let conflicts = 0;
  let transformer: Transformer;
  /** Counts of what is committed (the entities up to the frontier). */
  const committed = (): MigrationCounts => ({ ...transformer.tracker.committed, conflicts });
  /** Counts of what was handled so far, for progress display. */
  const live = (): MigrationCounts => ({
    read: transformer.processed + transformer.recovered,
    changed: transformer.changed + transformer.recovered,
    deleted: transformer.deleted,
    unchanged: transformer.unchanged,
    conflicts,
  });
  // Windows still covering keys past the frontier, oldest first; saved with every checkpoint.
  let windows: WriteWindow[] = (options.windows ?? []).map((w) => ({ upTo: w.upTo, after: w.after ?? options.recordVersion ?? null }));
  let saving: Promise<void> = Promise.resolve();
  /** Saves the checkpoint (one save at a time), with a new window up to `upTo` if given. */
  const checkpoint = (upTo?: IKey): Promise<void> => {
    const run = async () => {
      const frontier = transformer.tracker.frontier();
      if (frontier) windows = windows.filter((w) => compareKeyPaths(w.upTo, frontier) > 0);
      if (upTo) windows.push({ upTo, after: null });
      const version = await options.onCheckpoint?.(frontier, committed(), windows.map((w) => ({ ...w })));
      for (const w of windows) if (w.after === null) w.after = version ?? '';
    };
    saving = saving.then(run, run);
    return saving;
  };
  transformer = createTransformer({
    script,
    namespace,
    kind,
    resumeAfter: options.resumeAfter ?? null,
    ...(options.windows && { windows: options.windows, recordVersion: options.recordVersion ?? '' }),
    examples: options.examples ?? 0,
    ...(!options.dryRun && { reserve: (upTo: IKey) => checkpoint(upTo), reserveEvery: options.checkpointEvery ?? 500 }),
    onEntity: () => options.onProgress?.(live()),
  });
  const reader = createEntityReader(client, connection, {
    namespace,
    kind,
    // The checkpoint key itself is read again and passed over by the transformer.
    ...(options.resumeAfter && { startAt: options.resumeAfter }),
    ...(options.retry && { retry: options.retry }),
    ...(options.pageSize && { pageSize: options.pageSize }),
  });

  if (options.dryRun) {
    const discard = new Writable({ objectMode: true, write: (_op, _enc, cb) => cb() });
    await pipeline(reader, transformer, discard, ...signalOf(options));
    return { counts: live(), skipped: transformer.skipped, recovered: transformer.recovered, examples: transformer.examples };
  }

  const signal = options.signal;
  const conflicted = new WeakSet<WriteOp>();
  const resolver = new ConflictResolver(client, connection, {
    script,
    namespace,
    kind,
    maxAttempts: options.maxConflictAttempts ?? 20,
    concurrency: options.writers ?? 4,
    ...(options.retry && { retry: options.retry }),
    onResolved: (op, outcome) => {
      const ticket = transformer.tickets.get(op);
      const final = outcome === null || outcome.type === 'unchanged' ? 'unchanged' : outcome.type === 'write' ? 'changed' : 'deleted';
      if (ticket !== undefined) transformer.tracker.done(ticket, final);
    },
    onConflict: () => void conflicts++,
  });
  const writer = createEntityWriter(client, connection, {
    writers: options.writers ?? 4,
    ...(options.budget && { budget: options.budget }),
    ...(options.rate && { rate: options.rate }),
    ...(options.retry && { retry: options.retry }),
    onConflict: (op) => {
      conflicts++;
      conflicted.add(op);
      resolver.add(op);
    },
    onCommitted: (batch) => {
      for (const op of batch) {
        if (conflicted.has(op)) continue;
        const ticket = transformer.tickets.get(op);
        if (ticket !== undefined) transformer.tracker.done(ticket);
      }
    },
  });
  resolver.onFailure = (err) => writer.destroy(err);
  try {
    // A stop (Ctrl-C) ends the reading, not the writing: the commits in flight and the conflicts under way finish,
    // so the checkpoint saved below covers them.
    const gated = async function* () {
      for await (const result of reader) {
        if (signal?.aborted) break;
        yield result;
      }
    };
    if (signal) signal.addEventListener('abort', () => void (transformer.stopping = true), { once: true });
    await pipeline(Readable.from(gated(), { objectMode: true, highWaterMark: 1 }), transformer, createBatcher(options.batchSize ? { maxOps: options.batchSize } : {}), writer);
    await resolver.drain();
  } catch (err) {
    // Let conflict work already under way settle, so the frontier we save is true.
    await resolver.drain().catch(() => {});
    await checkpoint().catch(() => {});
    throw refusedByDatastore(err, script) ?? err;
  }
  await checkpoint();
  signal?.throwIfAborted();
  return { counts: committed(), skipped: transformer.skipped, recovered: transformer.recovered, examples: transformer.examples };
}
