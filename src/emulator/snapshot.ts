/**
 * The boundary between the emulator's store (storage, versions, commits) and
 * its query engine (filters, orders, cursors, metadata queries,
 * aggregations). The store hands the engine a read-consistent view of one
 * database at one read time; the engine never sees versions it should not.
 */
import type { IKey, ITimestamp, IValue } from '../model/proto.js';

export interface StoredEntity {
  /**
   * The complete key: partitionId carries projectId, databaseId and
   * namespaceId (all strings, '' for defaults); every path element has a
   * kind and either `id` (decimal string, never '0') or `name`.
   */
  readonly key: IKey;
  /** Properties as the client sent them (proto-loader objects with `valueType`). */
  readonly properties: Readonly<Record<string, IValue>>;
  /** Monotonic per entity version (decimal int64 string). */
  readonly version: string;
  readonly createTime: ITimestamp;
  readonly updateTime: ITimestamp;
}

export interface ScanStart {
  /** Path (partition ignored) to start at. */
  key: IKey;
  /** Whether an entity with exactly this key is included. */
  inclusive: boolean;
}

export interface DatabaseSnapshot {
  readonly projectId: string;
  readonly databaseId: string;
  /** The read time this view is consistent at. */
  readonly readTime: ITimestamp;
  /** Namespaces holding at least one entity, ascending by UTF-8 bytes ('' first). */
  namespaces(): string[];
  /** Kinds holding at least one entity in the namespace, ascending by UTF-8 bytes. */
  kinds(namespace: string): string[];
  /**
   * Entities of `kind` (or of every kind, for kindless queries, when
   * undefined) in the namespace, in ascending key order (key-order.ts),
   * beginning at `start` when given. Lazily produced: a caller that stops
   * early pays only for what it read.
   */
  scan(namespace: string, kind: string | undefined, start?: ScanStart): Iterable<StoredEntity>;
  /** Number of entities `scan(namespace, kind)` would produce, in O(1) or close. */
  count(namespace: string, kind: string | undefined): number;
}
