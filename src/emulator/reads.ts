/**
 * Read options shared by Lookup, RunQuery and RunAggregationQuery: which
 * snapshot a read sees (now, a read time, or a transaction's) and whether it
 * starts a transaction.
 */
import type { IReadOptions, ITimestamp } from '../model/proto.js';
import { fromTimestamp } from './clock.js';
import type { Database, Store } from './store.js';
import type { Transaction, Transactions } from './transactions.js';
import { RpcError, Status, invalidArgument } from './rpc-error.js';
import type { google } from '@google-cloud/datastore/build/protos/protos.js';

export type ITransactionOptions = google.datastore.v1.ITransactionOptions;

export interface ResolvedRead {
  /** Read time in µs. */
  time: number;
  /** The read-write transaction to record reads in, if any. */
  tx?: Transaction;
  /** Set when the read began a transaction (`new_transaction`). */
  newTransaction?: Buffer;
}

/** Checks a client-given read time against the retention window and the clock. */
export function checkReadTime(store: Store, ts: ITimestamp, field = 'read_time'): number {
  const time = fromTimestamp(ts, field);
  // Datastore's answers: INVALID_ARGUMENT for the future, FAILED_PRECONDITION past retention.
  if (time > store.clock.now()) {
    throw invalidArgument(`${field} cannot be in the future (${isoOf(time)})`);
  }
  if (time < store.oldestReadable()) {
    throw new RpcError(
      Status.FAILED_PRECONDITION,
      `The requested snapshot version is too old. ${field} ${isoOf(time)} is older than the ${formatRetention(store.retentionMicros)} of versions the database keeps.`,
    );
  }
  return time;
}

function formatRetention(micros: number): string {
  const seconds = micros / 1e6;
  return seconds >= 60 ? `${Math.round(seconds / 60)} minutes` : `${seconds} seconds`;
}

function isoOf(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString();
}

export function beginTransaction(
  store: Store,
  transactions: Transactions,
  db: Database,
  options: ITransactionOptions | null | undefined,
): { tx: Transaction; id: Buffer } {
  if (options?.readOnly) {
    const rt = options.readOnly.readTime;
    const time = rt ? checkReadTime(store, rt, 'read_only.read_time') : store.clock.tick();
    return transactions.begin(db, true, time);
  }
  const previous = options?.readWrite?.previousTransaction;
  // Both Google emulators refuse this, in these words; the documentation is silent.
  if (previous != null && previous.length > 0 && transactions.isReadOnly(previous)) throw invalidArgument('Cannot retry a read-only transaction.');
  return transactions.begin(db, false, store.clock.tick());
}

export function resolveRead(
  store: Store,
  transactions: Transactions,
  db: Database,
  options: IReadOptions | null | undefined,
): ResolvedRead {
  const o = options as (IReadOptions & { consistencyType?: string }) | null | undefined;
  switch (o?.consistencyType) {
    case 'transaction': {
      const tx = transactions.get(db, o.transaction);
      return tx.readOnly ? { time: tx.readTime } : { time: store.clock.tick(), tx };
    }
    case 'newTransaction': {
      const { tx, id } = beginTransaction(store, transactions, db, o.newTransaction);
      return tx.readOnly ? { time: tx.readTime, newTransaction: id } : { time: store.clock.tick(), tx, newTransaction: id };
    }
    case 'readTime':
      return { time: checkReadTime(store, o.readTime!) };
    default:
      // STRONG and EVENTUAL both read the latest data: the emulator has no replicas to lag.
      return { time: store.clock.tick() };
  }
}
