/**
 * Batches of WriteOps in, NON_TRANSACTIONAL commits out, up to `writers` in
 * flight at once (the stream's write callback is held while all are busy, so
 * backpressure reaches the file being read).
 *
 * Transient errors retry with our policy (gax's own retries are switched off
 * per call so injected faults are seen and counted here). Retrying is safe for
 * upserts, deletes and updates; an insert retried after a commit that did land
 * would report its key as existing, a limit of insert mode we accept.
 *
 * A request refused for its size (Google's emulators take 4 MiB, production
 * and ours 10 MiB; datastore/commit-refusals.ts reads the refusal) is not
 * retried as it is: it is split in halves, and the byte budget is lowered for
 * the rest of the run, so later batches are cut to it before they are sent and
 * only the first oversize batch (and any in flight beside it) pays.
 *
 * When Datastore refuses a batch with INVALID_ARGUMENT (an entity too large,
 * an indexed string over 1,500 bytes, …) or ALREADY_EXISTS (insert mode), the
 * batch is retried split in halves down to single ops, so the one at fault is
 * named: the stream fails with its key, or, given `onRejected`, hands it over
 * there and goes on. A MutationResult with conflictDetected (a baseVersion that
 * no longer matches) is not an error: it goes to `onConflict`.
 *
 * Given a write rate (datastore/write-rate.ts), every attempt waits for its
 * share of it, and a push-back (RESOURCE_EXHAUSTED not about size, ABORTED)
 * slows it before the retry waits.
 */
import { Writable } from 'node:stream';
import type { CallOptions } from 'google-gax';
import type { DatastoreClient, Connection } from '../datastore/connection.js';
import { requestBase } from '../datastore/connection.js';
import type { ICommitResponse, IMutation } from '../model/proto.js';
import { DEFAULT_RETRY, grpcCode, isTransient, withRetry, type RetryPolicy } from '../datastore/retry.js';
import { budgetAfter, errorDetails, isEntityTooLarge, sizeRefusal, type SizeRefusal } from '../datastore/commit-refusals.js';
import { DspipeError } from '../errors.js';
import { mutationBytes, opKey, splitByBytes, type WriteOp } from '../format/batching.js';
import { PUSH_BACK_CODES, type WriteRateLimiter } from '../datastore/write-rate.js';
import { formatKey } from '../model/key-text.js';
import type { RawTransport } from '../datastore/raw-transport.js';
import { commitRequestBytes, decodeCommitResponse } from '../format/wire/commit.js';
import { mutationEntityLine } from '../format/wire/mutation.js';
import { decodeEntity } from '../format/entity-codec.js';

/** Per-call options that switch google-gax's retries off: ours (withRetry) decide. */
export const NO_GAX_RETRY = { retry: null } as unknown as CallOptions;

const CANCELLED = 1;
const INVALID_ARGUMENT = 3;
const ALREADY_EXISTS = 6;
const RESOURCE_EXHAUSTED = 8;

export interface EntityWriterOptions {
  /** Commits in flight at once (default 4). */
  writers?: number;
  retry?: RetryPolicy;
  /** An op whose baseVersion no longer matched: nothing was written for it. */
  onConflict?: (op: WriteOp) => void;
  /** An op Datastore refused; without this hook the stream fails instead. */
  onRejected?: (op: WriteOp, error: DspipeError) => void | Promise<void>;
  /** After each successful commit, with the ops it carried. */
  onCommitted?: (batch: WriteOp[]) => void;
  /** The budget to learn into: share one between a run's writers so every kind learns from the first refusal. */
  budget?: CommitBudget;
  /**
   * The run's write rate (share one between its writers): each attempt of a
   * commit waits for room for its mutations, and a RESOURCE_EXHAUSTED or
   * ABORTED answer lowers the rate before the retry.
   */
  rate?: WriteRateLimiter;
  /** Commits batches of ops with `wire` Mutations as bytes through this (stages/wire-parser.ts makes such ops). */
  transport?: RawTransport | undefined;
}

/**
 * How many mutation bytes one commit may carry on this backend, learnt from
 * refusals: unlimited (the batcher's limit holds) until a request is refused
 * for its size, then lowered, never raised.
 */
export class CommitBudget {
  bytes = Infinity;
  /** Batches split because the backend refused them for their size, by every writer sharing this budget. */
  splits = 0;
}

const sumBytes = (batch: readonly WriteOp[]): number => batch.reduce((n, op) => n + mutationBytes(op), 0);

/** A wire op's entity as an object: for the rejects file, and for a batch sent through the client. */
function entityOf(op: WriteOp): void {
  if (op.wire !== undefined && op.entity === undefined && op.op !== 'delete') op.entity = decodeEntity(mutationEntityLine(op.wire));
}

function toMutation(op: WriteOp): IMutation {
  entityOf(op);
  const m: IMutation = {};
  if (op.op === 'delete') m.delete = opKey(op) ?? null;
  else m[op.op] = op.entity ?? null;
  if (op.baseVersion !== undefined) m.baseVersion = op.baseVersion;
  return m;
}

export class EntityWriter extends Writable {
  /** Ops Datastore applied. */
  written = 0;
  conflicts = 0;
  rejected = 0;
  commits = 0;
  retries = 0;
  /** Encoded mutation bytes committed. */
  bytes = 0;
  /** Batches this writer split because the backend refused them for their size. */
  splits = 0;
  readonly budget: CommitBudget;
  private readonly writers: number;
  private readonly retry: RetryPolicy;
  private readonly inflight = new Set<Promise<void>>();
  private waiting: ((err?: Error | null) => void) | undefined;
  private failure: Error | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly client: DatastoreClient,
    private readonly connection: Connection,
    private readonly options: EntityWriterOptions = {},
  ) {
    const writers = options.writers ?? 4;
    // The batch whose commit waits for a writer counts here, so with the batcher's one `writers` batches wait ready
    // beside the commits in flight. Commits that go out together come back together: with one batch ready the rest
    // of the writers waited while the pipeline encoded theirs, and the backend idled meanwhile
    // (a 100k restore at 20 ms, pinned: 8.2-9.3 s with 1, 7.4-7.7 s with 4). Wire batches are bytes (~0.25 MB of
    // 500 ~1 KB entities) and a set of them costs little; object batches are ~1.4 MB each, so they keep one.
    super({ objectMode: true, highWaterMark: options.transport !== undefined ? writers : 1 });
    this.writers = writers;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.budget = options.budget ?? new CommitBudget();
  }

  /** Mutation bytes a commit may carry now: Infinity until the backend refused a request for its size. */
  get batchBytesLimit(): number {
    return this.budget.bytes;
  }

  override _write(batch: WriteOp[], _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure) return callback(this.failure);
    const task: Promise<void> = this.commitBatch(batch).then(
      () => {
        this.inflight.delete(task);
        const next = this.waiting;
        this.waiting = undefined;
        next?.();
      },
      (err: Error) => {
        this.inflight.delete(task);
        this.failure ??= err;
        const next = this.waiting;
        this.waiting = undefined;
        if (next) next(err);
        else this.destroy(err);
      },
    );
    this.inflight.add(task);
    if (this.inflight.size < this.writers) callback();
    else this.waiting = callback;
  }

  override _final(callback: (err?: Error | null) => void): void {
    Promise.allSettled([...this.inflight]).then(() => callback(this.failure ?? null));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.abort.abort();
    callback(err);
  }

  private async commitBatch(batch: WriteOp[]): Promise<void> {
    if (batch.length > 1 && this.budget.bytes !== Infinity) {
      const runs = splitByBytes(batch, this.budget.bytes);
      if (runs.length > 1) {
        for (const run of runs) await this.commitRun(run);
        return;
      }
    }
    await this.commitRun(batch);
  }

  /** A refusal of `batch` for its size, if `err` is one. */
  private sizeRefusal(err: unknown, batch: WriteOp[]): SizeRefusal | undefined {
    const code = grpcCode(err);
    // the codes a size refusal comes with, before the batch's bytes are counted
    if (code !== CANCELLED && code !== INVALID_ARGUMENT && code !== RESOURCE_EXHAUSTED) return undefined;
    return sizeRefusal(err, { bytes: sumBytes(batch), cancelledByUs: this.abort.signal.aborted });
  }

  private async commitRun(batch: WriteOp[]): Promise<void> {
    let response: ICommitResponse;
    try {
      const rate = this.options.rate;
      let sentAt: number | undefined;
      [response] = await withRetry(
        async () => {
          sentAt = await rate?.acquire(batch.length, this.abort.signal);
          return this.send(batch);
        },
        this.retry,
        {
          signal: this.abort.signal,
          onRetry: (err) => {
            this.retries++;
            const code = grpcCode(err);
            if (rate && code !== undefined && PUSH_BACK_CODES.has(code)) rate.throttled(sentAt);
          },
          // RESOURCE_EXHAUSTED is transient, but not when it names the request's size
          retryable: (err) => this.sizeRefusal(err, batch) === undefined,
        },
      );
    } catch (err) {
      const refusal = this.sizeRefusal(err, batch);
      if (refusal && batch.length > 1) {
        this.splits++;
        this.budget.splits++;
        this.budget.bytes = Math.min(this.budget.bytes, budgetAfter(refusal, sumBytes(batch)));
        const half = batch.length >> 1;
        await this.commitBatch(batch.slice(0, half));
        await this.commitBatch(batch.slice(half));
        return;
      }
      const code = grpcCode(err);
      if (!refusal && code !== INVALID_ARGUMENT && code !== ALREADY_EXISTS) throw this.rpcFailed(err, batch);
      if (batch.length > 1) {
        const half = batch.length >> 1;
        await this.commitBatch(batch.slice(0, half));
        await this.commitBatch(batch.slice(half));
        return;
      }
      const op = batch[0]!;
      const rejection = this.rejection(op, err, code, refusal !== undefined);
      if (!this.options.onRejected) throw rejection;
      entityOf(op);
      this.rejected++;
      await this.options.onRejected(op, rejection);
      return;
    }
    this.commits++;
    const results = response.mutationResults ?? [];
    batch.forEach((op, i) => {
      if (results[i]?.conflictDetected) {
        this.conflicts++;
        this.options.onConflict?.(op);
      } else {
        this.written++;
        this.bytes += mutationBytes(op);
      }
    });
    this.options.onCommitted?.(batch);
  }

  /** One commit of the batch: as bytes when its Mutations are encoded already, else through the client. */
  private async send(batch: WriteOp[]): Promise<[ICommitResponse]> {
    const transport = this.options.transport;
    if (transport === undefined || !batch.every((op) => op.wire !== undefined)) {
      return this.client.commit({ ...requestBase(this.connection), mode: 'NON_TRANSACTIONAL', mutations: batch.map(toMutation) }, NO_GAX_RETRY) as Promise<[ICommitResponse]>;
    }
    const request = commitRequestBytes(this.connection.projectId, this.connection.databaseId, batch.map((op) => op.wire!));
    const { conflicts } = decodeCommitResponse(await transport.commit(request));
    return [{ mutationResults: conflicts.map((conflictDetected) => ({ conflictDetected })) }];
  }

  private rejection(op: WriteOp, err: unknown, code: number | undefined, tooBigRequest: boolean): DspipeError {
    const key = opKey(op);
    const details = errorDetails(err);
    const where = {
      key: formatKey(key),
      ...(key?.path?.length && { kind: key.path[key.path.length - 1]!.kind ?? '' }),
      ...(key?.partitionId?.namespaceId && { namespace: key.partitionId.namespaceId }),
      cause: err,
    };
    if (code === ALREADY_EXISTS) {
      // Google's text is "entity already exists: KEY", and the key is named already: said once.
      const more = /^entity already exists\b/i.test(details) ? '' : `: ${details}`;
      return new DspipeError('DSPIPE_REJECTED_ENTITY', `entity already exists (${op.op} refused)${more}`, {
        ...where,
        hint: 'restore with --mode upsert to overwrite, or clear the target first (dspipe clear)',
      });
    }
    const tooLarge = tooBigRequest || isEntityTooLarge(details);
    return new DspipeError(tooLarge ? 'DSPIPE_ENTITY_TOO_LARGE' : 'DSPIPE_REJECTED_ENTITY', `Datastore refused the entity: ${details}`, {
      ...where,
      hint: 'fix the entity, or pass --on-error skip to write refused entities to a rejects file and go on',
    });
  }

  private rpcFailed(err: unknown, batch: WriteOp[]): Error {
    if (err instanceof DspipeError || (err as Error)?.name === 'AbortError') return err as Error;
    const first = opKey(batch[0]!);
    return new DspipeError('DSPIPE_RPC_FAILED', `commit of ${batch.length} mutation(s) failed${isTransient(err) ? ` after ${this.retry.maxAttempts} attempts` : ''}: ${errorDetails(err)}`, {
      ...(first?.path?.length && { kind: first.path[first.path.length - 1]!.kind ?? '' }),
      ...(first?.partitionId?.namespaceId && { namespace: first.partitionId.namespaceId }),
      cause: err,
    });
  }
}

export function createEntityWriter(client: DatastoreClient, connection: Connection, options: EntityWriterOptions = {}): EntityWriter {
  return new EntityWriter(client, connection, options);
}
