/**
 * Migrates one namespace/kind in place:
 *
 *   entityReader -> transformer -> batcher -> entityWriter (baseVersion)
 *                                               └ conflicts -> ConflictResolver
 *
 * Read in key order without a snapshot (we want the newest versions; the
 * baseVersion check catches anything newer still). The checkpoint frontier
 * advances as commits land and is handed to `onCheckpoint` every
 * `checkpointEvery` entities, at the end and when the run fails.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { IKey } from '../model/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import type { WriteOp } from '../format/batching.js';
import { createBatcher } from '../stages/batcher.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { createEntityWriter, type CommitBudget } from '../stages/entity-writer.js';
import { createTransformer, type ChangeExample } from './transformer.js';
import { ConflictResolver } from './conflicts.js';
import type { ScriptRef } from './outcome.js';
import { DspipeError, isDspipeError } from '../errors.js';
import type { MigrationCounts } from './record.js';

export interface RewriteKindOptions {
  namespace: string;
  kind: string;
  script: ScriptRef;
  /** Resume after this key (from the record's checkpoint). */
  resumeAfter?: IKey | null;
  /** The request-size budget to learn into, shared by every kind of one migration. */
  budget?: CommitBudget;
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
  /** Saves progress; `lastKey` and everything before it are migrated. */
  onCheckpoint?: (lastKey: IKey | null, counts: MigrationCounts) => Promise<void>;
  /** Called as entities are handled, for progress display. */
  onProgress?: (counts: MigrationCounts) => void;
}

export interface RewriteKindResult {
  counts: MigrationCounts;
  /** Entities passed over because an earlier run migrated them. */
  skipped: number;
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
  const counts: MigrationCounts = { read: 0, changed: 0, deleted: 0, unchanged: 0, conflicts: 0 };
  const every = options.checkpointEvery ?? 500;
  let sinceCheckpoint = 0;
  let transformer: ReturnType<typeof createTransformer>;
  const sync = () => {
    counts.read = transformer.processed;
    counts.unchanged = transformer.unchanged + resolvedUnchanged;
    counts.changed = transformer.changed + resolvedAs.write - conflictedAs.write;
    counts.deleted = transformer.deleted + resolvedAs.delete - conflictedAs.delete;
  };
  let resolvedUnchanged = 0;
  const resolvedAs = { write: 0, delete: 0 };
  const conflictedAs = { write: 0, delete: 0 };
  const checkpoint = async () => {
    sync();
    sinceCheckpoint = 0;
    await options.onCheckpoint?.(transformer.tracker.frontier(), { ...counts });
  };
  transformer = createTransformer({
    script,
    namespace,
    kind,
    resumeAfter: options.resumeAfter ?? null,
    examples: options.examples ?? 0,
    onEntity: async () => {
      if (options.onProgress) {
        sync();
        options.onProgress({ ...counts });
      }
      if (!options.dryRun && ++sinceCheckpoint >= every) await checkpoint();
    },
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
    sync();
    return { counts, skipped: transformer.skipped, examples: transformer.examples };
  }

  const conflicted = new WeakSet<WriteOp>();
  const resolver = new ConflictResolver(client, connection, {
    script,
    namespace,
    kind,
    maxAttempts: options.maxConflictAttempts ?? 20,
    concurrency: options.writers ?? 4,
    ...(options.retry && { retry: options.retry }),
    onResolved: (op, outcome) => {
      if (outcome === null || outcome.type === 'unchanged') resolvedUnchanged++;
      else resolvedAs[outcome.type]++;
      const ticket = transformer.tickets.get(op);
      if (ticket !== undefined) transformer.tracker.done(ticket);
    },
    onConflict: () => void counts.conflicts++,
  });
  const writer = createEntityWriter(client, connection, {
    writers: options.writers ?? 4,
    ...(options.budget && { budget: options.budget }),
    ...(options.retry && { retry: options.retry }),
    onConflict: (op) => {
      counts.conflicts++;
      conflicted.add(op);
      conflictedAs[op.op === 'delete' ? 'delete' : 'write']++;
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
    await pipeline(reader, transformer, createBatcher(options.batchSize ? { maxOps: options.batchSize } : {}), writer, ...signalOf(options));
    await resolver.drain();
  } catch (err) {
    // Let conflict work already under way settle, so the frontier we save is true.
    await resolver.drain().catch(() => {});
    await checkpoint().catch(() => {});
    throw refusedByDatastore(err, script) ?? err;
  }
  await checkpoint();
  return { counts, skipped: transformer.skipped, examples: transformer.examples };
}
