/**
 * Entities (or WriteOps) pass through unchanged; every numeric id in their
 * keys is handed to ReserveIds first, batched per namespace, so Datastore's
 * id allocator never gives a restored id to a new entity — the collision that
 * made restores into another app unsafe with the old App Engine tools.
 *
 * Ancestor ids are reserved too (as their own key prefix): a parent that is
 * not in the dump still owns its id. Reserving happens before the entity is
 * passed on, so there is never a moment when a restored id is written but
 * still allocatable. ReserveIds is idempotent, hence freely retried.
 *
 * One id a backend will not reserve fails the whole call (Firestore's emulator
 * answers UNKNOWN, with no message, for any id of 3·2^51 or more, though it
 * stores such ids). So a call refused for what it carries is narrowed by
 * halves to the keys refused; the rest are reserved, each refused key goes to
 * `onUnreserved` and is counted, and every entity still passes on: its id is
 * merely not protected from the allocator.
 *
 * With a raw transport, ops whose Mutation is encoded already (the wire path)
 * have their key prefixes cut from those bytes and reserved with a
 * ReserveIdsRequest assembled from bytes (format/wire/reserve-ids.ts): no key
 * object per id, no protobufjs encoding. Other input takes the client.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { DatastoreClient, Connection } from '../datastore/connection.js';
import { requestBase } from '../datastore/connection.js';
import type { IEntity, IKey } from '../model/proto.js';
import { DEFAULT_RETRY, grpcCode, withRetry, type RetryPolicy } from '../datastore/retry.js';
import { errorDetails } from '../datastore/commit-refusals.js';
import { DspipeError } from '../errors.js';
import { keyIdentity, opKey, type WriteOp } from '../format/batching.js';
import { formatKey } from '../model/key-text.js';
import { NO_GAX_RETRY } from './entity-writer.js';
import type { RawTransport } from '../datastore/raw-transport.js';
import { idPrefixes, partitionField, reserveIdsRequestBytes } from '../format/wire/reserve-ids.js';

export interface IdReserverOptions {
  /** Keys per ReserveIds call (default 500). */
  batchSize?: number;
  /** ReserveIds calls in flight at once (default 4): one round trip per batch would cap a kind's rate. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** A key whose id the backend refused to reserve (the entity still passes on); `error` says why. */
  onUnreserved?: (key: IKey, error: DspipeError) => void | Promise<void>;
  /** Reserves the ids of wire ops (WriteOps with `wire` bytes) through this, from their bytes. */
  transport?: RawTransport | undefined;
}

/** A key prefix cut from a wire op's Mutation: the Key message's bytes, and where it came from (for errors). */
class WirePrefix {
  constructor(
    readonly bytes: Buffer,
    private readonly key: IKey,
    private readonly depth: number,
    private readonly connection: Connection,
  ) {}

  /** The prefix as the object path builds it. */
  toKey(): IKey {
    return prefixKey(this.connection, this.key.partitionId?.namespaceId ?? '', this.key.path ?? [], this.depth);
  }
}

type Prefix = IKey | WirePrefix;

function prefixKey(connection: Connection, namespace: string, path: NonNullable<IKey['path']>, depth: number): IKey {
  return {
    partitionId: { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: namespace },
    path: path.slice(0, depth).map((e) => (e.id != null ? { kind: e.kind ?? null, id: e.id } : { kind: e.kind ?? null, name: e.name ?? null })),
  };
}

/**
 * The codes a refusal of the call's keys comes with: INVALID_ARGUMENT (id 0,
 * a bad key), UNKNOWN (Firestore's emulator for large ids), OUT_OF_RANGE.
 * Other failures (permission, a missing database, …) are about the call
 * itself: narrowing would only repeat them, so they fail the stream.
 */
const KEY_REFUSALS: ReadonlySet<number> = new Set([2, 3, 11]);

/** Entities held until the ReserveIds call for their ids has answered. */
interface Held {
  items: Array<IEntity | WriteOp>;
  /** Items already passed on. */
  next: number;
  settled: boolean;
  error?: Error;
  done: Promise<void>;
}

/**
 * Ancestor prefixes remembered as reserved, so a parent of many children is
 * reserved once. A dump is in key order, so children of one parent arrive
 * together and the most recent few thousand parents catch nearly every repeat;
 * a repeat that slips through is merely reserved twice (ReserveIds is
 * idempotent). Leaf keys are never remembered: each appears once in a dump.
 */
export const REMEMBER_ANCESTORS = 4096;

export class IdReserver extends Transform {
  /** Distinct keys reserved. */
  reserved = 0;
  /** Keys the backend refused to reserve (each went to `onUnreserved`). */
  unreserved = 0;
  calls = 0;
  retries = 0;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly retry: RetryPolicy;
  private held: Array<IEntity | WriteOp> = [];
  private readonly queue: Held[] = [];
  private pending = new Map<string, Map<string, Prefix>>();
  /** The partition field of prefix keys, per namespace (the wire path). */
  private readonly partitions = new Map<string, Buffer>();
  private pendingCount = 0;
  /** Insertion-ordered, oldest first: a bounded most-recently-used set. */
  private readonly seen = new Map<string, true>();
  private readonly abort = new AbortController();

  constructor(
    private readonly client: DatastoreClient,
    private readonly connection: Connection,
    private readonly options: IdReserverOptions = {},
  ) {
    // Entities wait in `held` for their ReserveIds call; the stream buffers need hold little more.
    super({ objectMode: true, highWaterMark: 64 });
    this.batchSize = options.batchSize ?? 500;
    this.concurrency = options.concurrency ?? 4;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** Ancestor prefixes remembered now (at most REMEMBER_ANCESTORS). */
  get remembered(): number {
    return this.seen.size;
  }

  override _transform(chunk: IEntity | WriteOp, _encoding: BufferEncoding, callback: TransformCallback): void {
    const op = typeof (chunk as WriteOp).op === 'string' ? (chunk as WriteOp) : undefined;
    const key = op ? opKey(op) : (chunk as IEntity).key;
    if (key && !(op?.wire !== undefined && this.options.transport !== undefined && this.collectWire(op.wire, key))) this.collect(key);
    this.held.push(chunk);
    if (this.pendingCount >= this.batchSize) this.launch();
    try {
      this.release();
    } catch (err) {
      return callback(err as Error);
    }
    if (this.queue.length < this.concurrency) return callback();
    // all calls busy: wait for the oldest, so memory stays bounded
    this.queue[0]!.done.then(() => {
      try {
        this.release();
        callback();
      } catch (err) {
        callback(err as Error);
      }
    });
  }

  override _flush(callback: TransformCallback): void {
    if (this.held.length > 0) this.launch();
    Promise.all(this.queue.map((h) => h.done)).then(() => {
      try {
        this.release(true);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    });
  }

  /** Starts ReserveIds for everything collected; its entities wait in the queue. */
  private launch(): void {
    const entry: Held = { items: this.held, next: 0, settled: false, done: Promise.resolve() };
    this.held = [];
    entry.done = this.reservePending().then(
      () => void (entry.settled = true),
      (err: Error) => {
        entry.error = err;
        entry.settled = true;
      },
    );
    this.queue.push(entry);
  }

  /**
   * Passes on, in order, the entities whose ids are reserved, as far as the
   * next stage wants them (the rest wait here and go on from _read); `all`
   * at the end.
   */
  private release(all = false): void {
    while (this.queue.length > 0 && this.queue[0]!.settled) {
      const entry = this.queue[0]!;
      if (entry.error) throw entry.error;
      while (entry.next < entry.items.length) {
        const more = this.push(entry.items[entry.next++]);
        if (!more && !all) {
          if (entry.next === entry.items.length) this.queue.shift();
          return;
        }
      }
      this.queue.shift();
    }
  }

  override _read(size: number): void {
    try {
      this.release();
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.abort.abort();
    callback(err);
  }

  private collect(key: IKey): void {
    const path = key.path ?? [];
    const namespace = key.partitionId?.namespaceId ?? '';
    const last = path.length - 1;
    for (let i = 0; i <= last; i++) {
      const id = path[i]!.id;
      if (id === undefined || id === null) continue;
      const prefix = prefixKey(this.connection, namespace, path, i + 1);
      this.add(namespace, keyIdentity(prefix), i < last, () => prefix);
    }
  }

  /** The id prefixes of a wire op's key, cut from its Mutation bytes; false for bytes of another layout. */
  private collectWire(wire: Buffer, key: IKey): boolean {
    const found = idPrefixes(wire);
    if (found === undefined) return false;
    const namespace = key.partitionId?.namespaceId ?? '';
    let partition = this.partitions.get(namespace);
    if (partition === undefined) this.partitions.set(namespace, (partition = partitionField(this.connection.projectId, this.connection.databaseId, namespace)));
    const { from, ends, depths, length } = found;
    for (let j = 0; j < ends.length; j++) {
      const end = ends[j]!;
      const depth = depths[j]!;
      // namespace and path bytes: the same prefix gives the same text
      const identity = `${namespace}\u0000${wire.toString('latin1', from, end)}`;
      this.add(namespace, identity, depth < length, () => {
        const bytes = Buffer.allocUnsafe(partition.length + end - from);
        partition.copy(bytes, 0);
        wire.copy(bytes, partition.length, from, end);
        return new WirePrefix(bytes, key, depth, this.connection);
      });
    }
    return true;
  }

  /** Queues one prefix for reserving unless it is an ancestor reserved lately; `ancestor`: a proper prefix of its key. */
  private add(namespace: string, identity: string, ancestor: boolean, prefix: () => Prefix): void {
    if (ancestor && this.seen.has(identity)) {
      // most recently used goes last, so the oldest is the one forgotten
      this.seen.delete(identity);
      this.seen.set(identity, true);
      return;
    }
    let group = this.pending.get(namespace);
    if (!group) this.pending.set(namespace, (group = new Map()));
    if (!group.has(identity)) {
      group.set(identity, prefix());
      this.pendingCount++;
    }
    if (ancestor) {
      // marked when queued, not when answered: a failed call fails the stream anyway
      if (this.seen.size >= REMEMBER_ANCESTORS) this.seen.delete(this.seen.keys().next().value!);
      this.seen.set(identity, true);
    }
  }

  private async reservePending(): Promise<void> {
    const groups = this.pending;
    this.pending = new Map();
    this.pendingCount = 0;
    for (const [namespace, keys] of groups) {
      const all = [...keys.values()];
      for (let i = 0; i < all.length; i += this.batchSize) await this.reserve(all.slice(i, i + this.batchSize), namespace);
    }
  }

  /** Reserves `keys`; a call refused for its keys is narrowed by halves to the ones refused. */
  private async reserve(keys: Prefix[], namespace: string): Promise<void> {
    const transport = this.options.transport;
    const raw = transport !== undefined && keys.every((k) => k instanceof WirePrefix);
    const call = raw
      ? () => transport.reserveIds(reserveIdsRequestBytes(this.connection.projectId, this.connection.databaseId, (keys as WirePrefix[]).map((k) => k.bytes)))
      : () => this.client.reserveIds({ ...requestBase(this.connection), keys: keys.map((k) => (k instanceof WirePrefix ? k.toKey() : k)) }, NO_GAX_RETRY);
    try {
      await withRetry(call, this.retry, {
        signal: this.abort.signal,
        onRetry: () => void this.retries++,
      });
    } catch (err) {
      if (err instanceof DspipeError) throw err; // no credentials, unreachable emulator: already says what to do
      const code = grpcCode(err);
      if (code === undefined || !KEY_REFUSALS.has(code) || this.abort.signal.aborted) {
        throw new DspipeError('DSPIPE_RPC_FAILED', `ReserveIds failed: ${errorDetails(err) || `gRPC code ${code ?? '?'} with no message`}`, {
          ...(namespace !== '' && { namespace }),
          hint: 'nothing of this batch was written yet; run the restore again (upserts are idempotent)',
          cause: err,
        });
      }
      if (keys.length > 1) {
        const half = keys.length >> 1;
        await this.reserve(keys.slice(0, half), namespace);
        await this.reserve(keys.slice(half), namespace);
        return;
      }
      await this.refused(keys[0]!, namespace, code, err);
      return;
    }
    this.calls++;
    this.reserved += keys.length;
  }

  private async refused(prefix: Prefix, namespace: string, code: number, err: unknown): Promise<void> {
    const key = prefix instanceof WirePrefix ? prefix.toKey() : prefix;
    const path = key.path ?? [];
    const last = path[path.length - 1];
    const error = new DspipeError(
      'DSPIPE_ID_NOT_RESERVED',
      `ReserveIds refused id ${String(last?.id)}: ${errorDetails(err) || `gRPC code ${code} with no message`}`,
      {
        key: formatKey(key),
        kind: last?.kind ?? '',
        ...(namespace !== '' && { namespace }),
        hint: 'the entity is still written, but Datastore may allocate this id to a new entity of the same kind and parent',
        cause: err,
      },
    );
    this.unreserved++;
    await this.options.onUnreserved?.(key, error);
  }
}

export function createIdReserver(client: DatastoreClient, connection: Connection, options: IdReserverOptions = {}): IdReserver {
  return new IdReserver(client, connection, options);
}
