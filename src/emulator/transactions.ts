/**
 * Transactions with serializable isolation by optimistic concurrency: a
 * read-write transaction remembers what it read (each key with its read
 * time, and each query's namespace/kind range) and its commit is ABORTED if
 * any of that changed since. Read-only transactions read one snapshot. Ids
 * are opaque random bytes; an unknown, finished or expired id gets Datastore's
 * INVALID_ARGUMENT "The referenced transaction has expired or is no longer valid."
 */
import { randomBytes } from 'node:crypto';
import type { Database } from './store.js';
import { RpcError, Status, invalidArgument } from './rpc-error.js';

/** Datastore expires transactions after 270 seconds. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 270_000;

export interface Transaction {
  readonly id: string;
  readonly db: Database;
  readonly readOnly: boolean;
  /** Read-only transactions read at this time (µs). */
  readonly readTime: number;
  readonly expiresAt: number;
  /** Keys read: `${namespace}\0${sortKey}` → read time (µs). */
  readonly reads: Map<string, number>;
  /** Ranges queried: `${namespace}\0${kind}` (kind '' for kindless, '\0' for metadata) → read time. */
  readonly ranges: Map<string, number>;
}

export const EXPIRED_MESSAGE = 'The referenced transaction has expired or is no longer valid.';
export const CONTENTION_MESSAGE =
  'Aborted due to cross-transaction contention. This occurs when multiple transactions attempt to access the same data, requiring Firestore to abort at least one in order to enforce serializability.';

export class Transactions {
  private readonly active = new Map<string, Transaction>();
  private readonly finishedReadOnly = new Set<string>();
  private readonly timeoutMs: number;

  constructor(timeoutMs = DEFAULT_TRANSACTION_TIMEOUT_MS) {
    this.timeoutMs = timeoutMs;
  }

  begin(db: Database, readOnly: boolean, readTime: number): { tx: Transaction; id: Buffer } {
    this.expire();
    const bytes = randomBytes(16);
    const tx: Transaction = {
      id: bytes.toString('base64'),
      db,
      readOnly,
      readTime,
      expiresAt: Date.now() + this.timeoutMs,
      reads: new Map(),
      ranges: new Map(),
    };
    this.active.set(tx.id, tx);
    return { tx, id: bytes };
  }

  /** The live transaction named by `id` in `db`, or INVALID_ARGUMENT. */
  get(db: Database, id: Uint8Array | string | null | undefined): Transaction {
    const key = id === null || id === undefined ? '' : typeof id === 'string' ? id : Buffer.from(id).toString('base64');
    const tx = this.active.get(key);
    // An id that cannot be one of ours (16 random bytes) gets both Google emulators' words.
    if (tx === undefined && Buffer.byteLength(key, 'base64') !== 16) throw invalidArgument(`Invalid transaction. (${EXPIRED_MESSAGE})`);
    if (tx === undefined || tx.db !== db) throw invalidArgument(EXPIRED_MESSAGE);
    if (tx.expiresAt <= Date.now()) {
      this.active.delete(key);
      throw invalidArgument(EXPIRED_MESSAGE);
    }
    return tx;
  }

  finish(tx: Transaction): void {
    this.active.delete(tx.id);
    if (tx.readOnly) {
      this.finishedReadOnly.add(tx.id);
      // Remember the latest ones only: enough for a client retrying what it just ran.
      if (this.finishedReadOnly.size > 10_000) this.finishedReadOnly.delete(this.finishedReadOnly.values().next().value!);
    }
  }

  /** Whether `id` names a read-only transaction (live or recently finished). */
  isReadOnly(id: Uint8Array | string): boolean {
    const key = typeof id === 'string' ? id : Buffer.from(id).toString('base64');
    return this.active.get(key)?.readOnly === true || this.finishedReadOnly.has(key);
  }

  /**
   * ABORTED (and the transaction ended) if anything it read has been written
   * since it read it.
   */
  validate(tx: Transaction): void {
    for (const [where, readTime] of tx.reads) {
      const cut = where.indexOf('\u0000');
      const row = tx.db.row(where.slice(0, cut), where.slice(cut + 1));
      const latest = row?.latest();
      if (latest !== undefined && latest.time > readTime) this.abort(tx);
    }
    for (const [range, readTime] of tx.ranges) {
      const cut = range.indexOf('\u0000');
      const ns = range.slice(0, cut);
      const kind = range.slice(cut + 1);
      const nsState = tx.db.namespaces.get(ns);
      const lastWrite =
        kind === '\u0000' ? tx.db.lastWrite : kind === '' ? (nsState?.lastWrite ?? 0) : (nsState?.kinds.get(kind)?.lastWrite ?? 0);
      if (lastWrite > readTime) this.abort(tx);
    }
  }

  private abort(tx: Transaction): never {
    this.finish(tx);
    throw new RpcError(Status.ABORTED, CONTENTION_MESSAGE);
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, tx] of this.active) if (tx.expiresAt <= now) this.active.delete(id);
  }
}
