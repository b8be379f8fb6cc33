/**
 * Conflicted writes, resolved one entity at a time: a write whose baseVersion
 * no longer matched means someone changed the entity after we read it.
 * Nothing of ours was written, so we read the entity again (Lookup), run the
 * transform on what is there now and commit with the new version — until a
 * commit lands, the entity needs nothing, or it is gone. A user's write is
 * therefore never overwritten, only transformed. Bounded attempts, then a
 * clear error.
 */
import pLimit from 'p-limit';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import { requestBase } from '../datastore/connection.js';
import type { ICommitResponse, IEntityResult, IKey, ILookupResponse, IMutation } from '../model/proto.js';
import { withRetry, DEFAULT_RETRY, type RetryPolicy } from '../datastore/retry.js';
import { SINGLE_ATTEMPT } from '../datastore/run-query.js';
import type { WriteOp } from '../format/batching.js';
import { applyScript, migrationFailed, type Outcome, type ScriptRef } from './outcome.js';

export interface ConflictResolverOptions {
  script: ScriptRef;
  namespace: string;
  kind: string;
  maxAttempts: number;
  concurrency: number;
  retry?: RetryPolicy;
  /** The entity reached its final state (written, left or gone); `outcome` null when it was gone. */
  onResolved: (op: WriteOp, outcome: Outcome | null) => void;
  /** A further conflict was met while resolving. */
  onConflict?: () => void;
}

export class ConflictResolver {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly tasks = new Set<Promise<void>>();
  private failure: Error | undefined;
  private readonly retry: RetryPolicy;
  /** Called once with the first failure, so the caller can stop its pipeline. */
  onFailure: ((err: Error) => void) | undefined;

  constructor(
    private readonly client: DatastoreClient,
    private readonly connection: Connection,
    private readonly options: ConflictResolverOptions,
  ) {
    this.limit = pLimit(options.concurrency);
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  get pending(): number {
    return this.tasks.size;
  }

  add(op: WriteOp): void {
    const task: Promise<void> = this.limit(() => (this.failure ? Promise.resolve() : this.resolve(op))).then(
      () => void this.tasks.delete(task),
      (err: Error) => {
        this.tasks.delete(task);
        if (this.failure === undefined) {
          this.failure = err;
          this.onFailure?.(err);
        }
      },
    );
    this.tasks.add(task);
  }

  /** Waits for every conflict added so far (and any added meanwhile); rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    if (this.failure) throw this.failure;
  }

  private async lookup(key: IKey): Promise<IEntityResult | null> {
    for (;;) {
      const [response] = await withRetry<[ILookupResponse, ...unknown[]]>(() => this.client.lookup({ ...requestBase(this.connection), keys: [key] }, SINGLE_ATTEMPT), this.retry);
      const found = response.found?.[0];
      if (found) return found;
      if ((response.missing?.length ?? 0) > 0) return null;
      // deferred: ask again
    }
  }

  private async resolve(op: WriteOp): Promise<void> {
    const key = op.op === 'delete' ? op.key! : op.entity!.key!;
    const { script, namespace, kind, maxAttempts } = this.options;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const current = await this.lookup(key);
      if (current === null || !current.entity) {
        this.options.onResolved(op, null);
        return;
      }
      const outcome = await applyScript(script, current, namespace, kind);
      if (outcome.type === 'unchanged') {
        this.options.onResolved(op, outcome);
        return;
      }
      const baseVersion = String(current.version ?? '');
      const mutation: IMutation = outcome.type === 'write' ? { upsert: outcome.entity, baseVersion } : { delete: key, baseVersion };
      let response: ICommitResponse;
      try {
        [response] = await withRetry<[ICommitResponse, ...unknown[]]>(
          () => this.client.commit({ ...requestBase(this.connection), mode: 'NON_TRANSACTIONAL', mutations: [mutation] }, SINGLE_ATTEMPT),
          this.retry,
        );
      } catch (err) {
        if ((err as { code?: unknown }).code !== 3) throw err; // INVALID_ARGUMENT: the transform's output
        const details = String((err as { details?: unknown }).details ?? (err as Error).message);
        throw migrationFailed(script, key, `produced an entity Datastore refused: ${details}`, err,
          'make the transform produce a valid entity (e.g. set long strings with { excludeFromIndexes: true }), then run up again');
      }
      if (!response.mutationResults?.[0]?.conflictDetected) {
        this.options.onResolved(op, outcome);
        return;
      }
      this.options.onConflict?.();
    }
    throw migrationFailed(
      script,
      key,
      `the entity kept changing while it was being migrated (${maxAttempts} conflicting writes in a row)`,
      undefined,
      'a hot entity: run again when writes are quieter (up resumes from the checkpoint) or raise --max-conflict-attempts',
    );
  }
}
