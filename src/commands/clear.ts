/**
 * `clear`: deletes every entity of every selected kind and namespace.
 *
 *   kindEnumerator → entityReader (keys-only) → deleteOps → batcher → entityDeleter
 *
 * Kinds are cleared in parallel (`concurrency`), each with `writers`
 * concurrent delete commits. Confirmation is checked before anything is read:
 * `yes`, and against a real project its id named again (`confirmProject`).
 */
import { pipeline } from 'node:stream/promises';
import { createBatcher } from '../stages/batcher.js';
import { createDeleteOps, createEntityDeleter } from '../stages/entity-deleter.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { enumerateKinds, type KindRef } from '../stages/kind-enumerator.js';
import { runKinds } from './kind-scheduler.js';
import { retryEvent, withCommandContext, type CommandContext, type KindEvents, type RetryEvent, type WarningEvent } from './context.js';
import { startWriteRate, type RateEvent } from './write-rate.js';
import type { WriteRateSummary } from '../datastore/write-rate.js';
import { checkClearConfirmation, normalizeClearOptions, type ClearOptionsInput } from '../options/clear.js';

export type ClearEvent =
  /** The kinds are known; nothing is deleted yet. */
  | { type: 'start'; target: { projectId: string; databaseId: string }; kinds: KindRef[] }
  | KindEvents<{ deleted: number }>
  | RetryEvent
  | RateEvent
  | WarningEvent;

/** clear's own options; the target (`connection` or `client`), signal, retry and onEvent come in the CommandContext. */
export type ClearCommandOptions = ClearOptionsInput;

export type ClearContext = CommandContext<ClearEvent>;

export interface ClearedKind extends KindRef {
  deleted: number;
}

export interface ClearResult {
  target: { projectId: string; databaseId: string };
  kinds: ClearedKind[];
  deleted: number;
  commits: number;
  retries: number;
  /** The write rate: ramp, ceiling, the rate at the end, push-backs. */
  writeRate: WriteRateSummary;
  seconds: number;
}

/** Deletes every entity of the selected kinds in the database the context names (after the confirmation check). */
export async function clear(options: ClearCommandOptions, context: ClearContext = {}): Promise<ClearResult> {
  const started = performance.now();
  const o = normalizeClearOptions(options);
  return withCommandContext(context, async (ctx) => {
    const { connection, retry } = ctx;
    checkClearConfirmation(o, connection);
    const client = ctx.client;
    const kinds: ClearedKind[] = [];
    let commits = 0;
    let retries = 0;
    const onRetry = (ref?: KindRef) => (err: unknown, attempt: number, delayMs: number) => ctx.emit(retryEvent(err, attempt, delayMs, ref));
    for await (const ref of enumerateKinds(client, connection, { selection: o.selection, retry, onRetry: onRetry(), onWarning: (message) => ctx.emit({ type: 'warning', message }) })) kinds.push({ ...ref, deleted: 0 });
    const target = { projectId: connection.projectId, databaseId: connection.databaseId };
    ctx.emit({ type: 'start', target, kinds: kinds.map(({ namespace, kind }) => ({ namespace, kind })) });
    const rate = startWriteRate(o.writeRate, connection, ctx.emit);
    await runKinds(kinds, { concurrency: o.concurrency, signal: ctx.signal }, async (entry, signal) => {
      const ref = { namespace: entry.namespace, kind: entry.kind };
      ctx.emit({ type: 'kind-start', ...ref });
      const reader = createEntityReader(client, connection, { ...ref, keysOnly: true, retry, onRetry: onRetry(ref) });
      const deleter = createEntityDeleter(client, connection, {
        writers: o.writers,
        retry,
        rate,
        onCommitted: (batch) => ctx.emit({ type: 'kind-progress', ...ref, deleted: (entry.deleted += batch.length) }),
      });
      try {
        await pipeline(reader, createDeleteOps(), createBatcher({ maxOps: o.batchSize }), deleter, { signal });
      } finally {
        entry.deleted = deleter.written;
        commits += deleter.commits;
        retries += deleter.retries + reader.retries;
      }
      ctx.emit({ type: 'kind-done', ...ref, deleted: entry.deleted });
    });
    return {
      target,
      kinds,
      deleted: kinds.reduce((s, k) => s + k.deleted, 0),
      commits,
      retries,
      writeRate: rate.summary(),
      seconds: (performance.now() - started) / 1000,
    };
  });
}
