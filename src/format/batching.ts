/**
 * Commit batching, pure: how many protobuf bytes a mutation adds to a
 * CommitRequest, and a byte- and count-bounded accumulator of WriteOps.
 *
 * Datastore refuses requests over 10 MiB, and since the 500-mutation cap was
 * lifted the request size is the only hard limit, so batches are sized by the
 * encoded mutation bytes computed here (the same sizes protobufjs produces;
 * the tests check that against Mutation.encode). A count cap still applies,
 * for latency and for `restore.batchSize` in options.json.
 */
import type { IEntity, IKey, IValue } from '../model/proto.js';
import { MAX_REQUEST_BYTES } from '../model/limits.js';

/** One write the entity writer commits. `baseVersion` makes it conditional (migrate). */
export interface WriteOp {
  op: 'upsert' | 'insert' | 'update' | 'delete';
  entity?: IEntity;
  key?: IKey;
  baseVersion?: string;
  /**
   * The Mutation already encoded (format/wire/mutation.ts), for the raw
   * transport; `key` is then its key and `entity` is left out.
   */
  wire?: Buffer;
}

/** 1 MiB below the limit: room for the request envelope and for server-side accounting we cannot see. */
export const DEFAULT_MAX_BATCH_BYTES = MAX_REQUEST_BYTES - 1024 * 1024;
/** Mutations per commit by default: small enough that a retried batch costs little. */
export const DEFAULT_MAX_BATCH_OPS = 500;

function varintSize(n: number): number {
  if (n < 0) return 10; // negative int32/int64 are sign-extended to 10 bytes
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  let rest = Math.floor(n / 0x800000000);
  while (rest > 0) {
    size++;
    rest = Math.floor(rest / 0x80);
  }
  return size;
}

/** Size of an int64 given as a decimal string, number or Long-like object. */
function int64Size(value: unknown): number {
  if (typeof value === 'number') return varintSize(value);
  if (typeof value === 'string') {
    if (value.startsWith('-')) return 10;
    if (value.length <= 15) return varintSize(Number(value));
    let n = BigInt(value);
    let size = 1;
    while (n >= 0x80n) {
      size++;
      n >>= 7n;
    }
    return size;
  }
  if (typeof value === 'bigint') return int64Size(value.toString());
  if (value !== null && typeof value === 'object' && 'toString' in value) return int64Size(String(value));
  return 1;
}

/** A length-delimited field with a one-byte tag (field numbers below 16). */
const lenField = (len: number) => 1 + varintSize(len) + len;
/** The same with a two-byte tag (field numbers 16..2047). */
const lenField2 = (len: number) => 2 + varintSize(len) + len;

function bytesLength(value: unknown): number {
  if (typeof value === 'string') {
    // protobufjs accepts base64 for bytes fields
    const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
    return Math.floor((value.length * 3) / 4) - pad;
  }
  return (value as Uint8Array | null | undefined)?.length ?? 0;
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
/** A string field as protobufjs writes it: whenever present, empty or not. */
const stringField = (s: string | null | undefined) => (s == null ? 0 : lenField(utf8(s)));

// protobufjs (what gax serialises with) writes every field present on the
// object, defaults included (`meaning: 0`, `excludeFromIndexes: false`, ''),
// so sizes count presence, not proto3 default-ness.

export function keyBytes(key: IKey): number {
  let size = 0;
  const p = key.partitionId;
  if (p != null) size += lenField(stringField(p.projectId) + stringField(p.databaseId) + stringField(p.namespaceId));
  for (const e of key.path ?? []) {
    let el = stringField(e.kind);
    if (e.id != null) el += 1 + int64Size(e.id);
    if (e.name != null) el += lenField(utf8(e.name));
    size += lenField(el);
  }
  return size;
}

export function valueBytes(v: IValue): number {
  let size = 0;
  if (v.nullValue != null) size += 2;
  if (v.booleanValue != null) size += 2;
  if (v.integerValue != null) size += 1 + int64Size(v.integerValue);
  if (v.doubleValue != null) size += 9;
  if (v.timestampValue != null) {
    const t = v.timestampValue;
    size += lenField((t.seconds != null ? 1 + int64Size(t.seconds) : 0) + (t.nanos != null ? 1 + varintSize(t.nanos) : 0));
  }
  if (v.keyValue != null) size += lenField(keyBytes(v.keyValue));
  if (v.stringValue != null) size += lenField2(utf8(v.stringValue));
  if (v.blobValue != null) size += lenField2(bytesLength(v.blobValue));
  if (v.geoPointValue != null) {
    const g = v.geoPointValue;
    size += lenField((g.latitude != null ? 9 : 0) + (g.longitude != null ? 9 : 0));
  }
  if (v.entityValue != null) size += lenField(entityBytes(v.entityValue));
  if (v.arrayValue != null) {
    let inner = 0;
    for (const item of v.arrayValue.values ?? []) inner += lenField(valueBytes(item));
    size += lenField(inner);
  }
  if (v.meaning != null) size += 1 + varintSize(v.meaning);
  if (v.excludeFromIndexes != null) size += 3;
  return size;
}

export function entityBytes(entity: IEntity): number {
  let size = entity.key != null ? lenField(keyBytes(entity.key)) : 0;
  const props = entity.properties;
  if (props) {
    for (const name in props) {
      size += lenField(lenField(utf8(name)) + lenField(valueBytes(props[name]!)));
    }
  }
  return size;
}

/** Bytes this op adds to a CommitRequest: its `mutations` entry, tag and length included. */
export function mutationBytes(op: WriteOp): number {
  if (op.wire !== undefined) return lenField(op.wire.length);
  let inner = op.op === 'delete' ? lenField(keyBytes(op.key ?? op.entity?.key ?? {})) : lenField(entityBytes(op.entity ?? {}));
  if (op.baseVersion != null) inner += 1 + int64Size(op.baseVersion);
  return lenField(inner);
}

/** The key an op touches (for duplicate detection and error messages). */
export function opKey(op: WriteOp): IKey | undefined {
  return op.op === 'delete' ? (op.key ?? op.entity?.key ?? undefined) : (op.entity?.key ?? op.key ?? undefined);
}

/** A compact identity for a key, equal for equal keys. */
export function keyIdentity(key: IKey): string {
  const p = key.partitionId;
  let s = `${p?.projectId ?? ''}\u0000${p?.databaseId ?? ''}\u0000${p?.namespaceId ?? ''}`;
  for (const e of key.path ?? []) {
    s += `\u0000${e.kind ?? ''}\u0000${e.id != null ? `#${String(e.id)}` : `"${e.name ?? ''}`}`;
  }
  return s;
}

export interface BatchLimits {
  /** Encoded mutation bytes per commit. */
  maxBytes: number;
  /** Mutations per commit. */
  maxOps: number;
}

/**
 * Groups ops into batches: a batch closes before it would exceed maxBytes,
 * when it reaches maxOps, or before a second mutation of the same key (a
 * NON_TRANSACTIONAL commit may not touch one entity twice). An op larger than
 * maxBytes travels alone, so Datastore (not we) decides whether it fits.
 */
export class BatchAccumulator {
  private ops: WriteOp[] = [];
  private bytes = 0;
  private keys = new Set<string>();

  constructor(readonly limits: BatchLimits) {}

  get pendingOps(): number {
    return this.ops.length;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Adds one op; returns the batch it closed, if any. */
  add(op: WriteOp, size = mutationBytes(op)): WriteOp[] | undefined {
    const key = opKey(op);
    const id = key ? keyIdentity(key) : undefined;
    let closed: WriteOp[] | undefined;
    if (this.ops.length > 0 && (this.bytes + size > this.limits.maxBytes || (id !== undefined && this.keys.has(id)))) {
      closed = this.take();
    }
    this.ops.push(op);
    this.bytes += size;
    if (id !== undefined) this.keys.add(id);
    // when a batch was just closed the open one holds one op, and maxOps >= 1 needs no second close
    if (closed === undefined && this.ops.length >= this.limits.maxOps) closed = this.take();
    return closed;
  }

  /** The open batch, if any, emptied. */
  take(): WriteOp[] | undefined {
    if (this.ops.length === 0) return undefined;
    const batch = this.ops;
    this.ops = [];
    this.bytes = 0;
    this.keys = new Set();
    return batch;
  }
}

/**
 * Cuts a batch into runs of at most `maxBytes` encoded mutation bytes, in
 * order; an op larger than that travels alone. The batch's keys are already
 * distinct, so only bytes decide.
 */
export function splitByBytes(batch: readonly WriteOp[], maxBytes: number): WriteOp[][] {
  const runs: WriteOp[][] = [];
  let run: WriteOp[] = [];
  let bytes = 0;
  for (const op of batch) {
    const size = mutationBytes(op);
    if (run.length > 0 && bytes + size > maxBytes) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(op);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
