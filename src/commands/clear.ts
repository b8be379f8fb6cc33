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
import { createClient, resolveConnection, type Connection, type ConnectionOptions, type DatastoreClient } from '../datastore/connection.js';
import { createBatcher } from '../stages/batcher.js';
import { createDeleteOps, createEntityDeleter } from '../stages/entity-deleter.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { enumerateKinds, type KindRef } from '../stages/kind-enumerator.js';
import { runKinds } from './kind-scheduler.js';
import { checkClearConfirmation, normalizeClearOptions, type ClearOptionsInput } from '../options/clear.js';

export interface ClearProgress {
  namespace: string;
  kind: string;
  deleted: number;
  done: boolean;
}

export interface ClearCommandOptions extends ClearOptionsInput, ConnectionOptions {
  connection?: Connection;
  /** Use this client (it is not closed); by default one is created and closed. */
  client?: DatastoreClient;
  onProgress?: (progress: ClearProgress) => void;
  /** Called once the kinds are known, before the first delete. */
  onKinds?: (kinds: KindRef[]) => void;
  signal?: AbortSignal;
}

export interface ClearedKind extends KindRef {
  deleted: number;
}

export interface ClearResult {
  target: { projectId: string; databaseId: string };
  kinds: ClearedKind[];
  deleted: number;
  commits: number;
  retries: number;
  seconds: number;
}

export async function clear(input: ClearCommandOptions): Promise<ClearResult> {
  const started = performance.now();
  const options = normalizeClearOptions(input);
  const connection = input.connection ?? resolveConnection(input);
  checkClearConfirmation(options, connection);
  const client = input.client ?? createClient(connection);
  const kinds: ClearedKind[] = [];
  let commits = 0;
  let retries = 0;
  try {
    for await (const ref of enumerateKinds(client, connection, { selection: options.selection, retry: options.retry })) kinds.push({ ...ref, deleted: 0 });
    input.onKinds?.(kinds.map(({ namespace, kind }) => ({ namespace, kind })));
    await runKinds(kinds, { concurrency: options.concurrency, signal: input.signal }, async (entry, signal) => {
      const reader = createEntityReader(client, connection, { namespace: entry.namespace, kind: entry.kind, keysOnly: true, retry: options.retry });
      const deleter = createEntityDeleter(client, connection, {
        writers: options.writers,
        retry: options.retry,
        onCommitted: (batch) => input.onProgress?.({ namespace: entry.namespace, kind: entry.kind, deleted: (entry.deleted += batch.length), done: false }),
      });
      try {
        await pipeline(reader, createDeleteOps(), createBatcher({ maxOps: options.batchSize }), deleter, { signal });
      } finally {
        entry.deleted = deleter.written;
        commits += deleter.commits;
        retries += deleter.retries + reader.retries;
      }
      input.onProgress?.({ namespace: entry.namespace, kind: entry.kind, deleted: entry.deleted, done: true });
    });
  } finally {
    if (input.client === undefined) await client.close();
  }
  return {
    target: { projectId: connection.projectId, databaseId: connection.databaseId },
    kinds,
    deleted: kinds.reduce((s, k) => s + k.deleted, 0),
    commits,
    retries,
    seconds: (performance.now() - started) / 1000,
  };
}
