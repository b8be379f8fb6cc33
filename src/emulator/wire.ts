/**
 * A direct protobuf encoder for the two responses that carry entities in
 * bulk, RunQueryResponse and LookupResponse. proto-loader's serializer first
 * converts the whole object tree into protobufjs messages (fromObject, with
 * a Long per int64) and then encodes them; writing the wire format straight
 * from the stored objects is several times faster, and RunQuery speed
 * decides whether the emulator or dspipe is the bottleneck of a dump.
 * Anything outside the shapes handled here falls back to the standard
 * serializer (`encode*` return undefined). Field numbers are those of
 * google/datastore/v1/{datastore,query,entity}.proto.
 */
import type { Value } from '../model/proto.js';
import { MessageWriter } from '../format/wire/message-writer.js';
import { copyOut } from './packed.js';

const MORE_RESULTS: Record<string, number> = {
  MORE_RESULTS_TYPE_UNSPECIFIED: 0,
  NOT_FINISHED: 1,
  MORE_RESULTS_AFTER_LIMIT: 2,
  NO_MORE_RESULTS: 3,
  MORE_RESULTS_AFTER_CURSOR: 4,
};
const RESULT_TYPE: Record<string, number> = { RESULT_TYPE_UNSPECIFIED: 0, FULL: 1, PROJECTION: 2, KEY_ONLY: 3 };

/** Thrown inside the encoder when a shape is not handled; the caller falls back. */
class Unsupported extends Error {}

class Writer extends MessageWriter {
  /** Bytes already in wire format (a stored entity's properties). */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

type Obj = Record<string, unknown> | null | undefined;

function timestamp(w: Writer, field: number, ts: Obj): void {
  if (ts === null || ts === undefined) return;
  const m = w.begin(field);
  const seconds = String(ts.seconds ?? '0');
  if (seconds !== '0') {
    w.tag(1, 0);
    w.int64(seconds);
  }
  const nanos = Number(ts.nanos ?? 0);
  if (nanos !== 0) {
    w.tag(2, 0);
    w.varint(nanos);
  }
  w.end(m);
}

function key(w: Writer, field: number, k: Obj): void {
  if (k === null || k === undefined) return;
  const m = w.begin(field);
  const p = k.partitionId as Obj;
  if (p) {
    const pm = w.begin(1);
    if (p.projectId) w.string(2, p.projectId as string);
    if (p.databaseId) w.string(3, p.databaseId as string);
    if (p.namespaceId) w.string(4, p.namespaceId as string);
    w.end(pm);
  }
  for (const e of (k.path ?? []) as Record<string, unknown>[]) {
    const em = w.begin(2);
    if (e.kind) w.string(1, e.kind as string);
    if (e.id !== null && e.id !== undefined) {
      w.tag(2, 0);
      w.int64(String(e.id));
    } else if (e.name !== null && e.name !== undefined) {
      w.string(3, e.name as string);
    }
    w.end(em);
  }
  w.end(m);
}

/**
 * A Value's fields in field-number order, as protobuf encoders write them
 * (the client library's protobufjs, production): the type's field, meaning
 * (14) and exclude_from_indexes (19), with meaning first for a string (17)
 * or blob (18). Requests in that form are stored as sent (commit-request.ts).
 */
function value(w: Writer, field: number, v: Value): void {
  const m = w.begin(field);
  const meaningFirst = v.valueType === 'stringValue' || v.valueType === 'blobValue';
  if (meaningFirst && v.meaning) {
    w.tag(14, 0);
    w.int64(String(v.meaning));
  }
  switch (v.valueType) {
    case 'nullValue':
      w.tag(11, 0);
      w.varint(0);
      break;
    case 'booleanValue':
      w.tag(1, 0);
      w.varint(v.booleanValue ? 1 : 0);
      break;
    case 'integerValue':
      w.tag(2, 0);
      w.int64(String(v.integerValue ?? '0'));
      break;
    case 'doubleValue':
      w.double(3, Number(v.doubleValue ?? 0));
      break;
    case 'timestampValue':
      // An unset-looking timestamp still has to be present to keep the oneof.
      timestamp(w, 10, (v.timestampValue ?? {}) as Obj);
      break;
    case 'keyValue':
      key(w, 5, (v.keyValue ?? {}) as Obj);
      break;
    case 'stringValue':
      w.string(17, v.stringValue ?? '');
      break;
    case 'blobValue':
      w.bytes(18, (v.blobValue ?? Buffer.alloc(0)) as Uint8Array | string);
      break;
    case 'geoPointValue': {
      const g = w.begin(8);
      const lat = Number(v.geoPointValue?.latitude ?? 0);
      const lng = Number(v.geoPointValue?.longitude ?? 0);
      if (lat !== 0 || Object.is(lat, -0)) w.double(1, lat);
      if (lng !== 0 || Object.is(lng, -0)) w.double(2, lng);
      w.end(g);
      break;
    }
    case 'entityValue':
      entity(w, 6, (v.entityValue ?? {}) as Obj);
      break;
    case 'arrayValue': {
      const a = w.begin(9);
      for (const e of v.arrayValue?.values ?? []) value(w, 1, e as Value);
      w.end(a);
      break;
    }
    default:
      throw new Unsupported();
  }
  if (!meaningFirst && v.meaning) {
    w.tag(14, 0);
    w.int64(String(v.meaning));
  }
  if (v.excludeFromIndexes) {
    w.tag(19, 0);
    w.varint(1);
  }
  w.end(m);
}

function entity(w: Writer, field: number, e: Obj): void {
  if (e === null || e === undefined) return;
  const m = w.begin(field);
  key(w, 1, e.key as Obj);
  // A stored entity (packed.ts) holds its property entries encoded already.
  const packed = (e as { packed?: Uint8Array }).packed;
  if (packed !== undefined) w.raw(packed);
  else properties(w, (e.properties ?? {}) as Record<string, Value>);
  w.end(m);
}

function properties(w: Writer, props: Record<string, Value>): void {
  for (const name in props) {
    const entry = w.begin(3);
    w.string(1, name);
    value(w, 2, props[name]!);
    w.end(entry);
  }
}

const scratch = new Writer(256 * 1024);

/**
 * An entity's properties as Entity field 3 entries (what a stored entity
 * keeps, packed.ts), in a buffer of their own. Throws on a value without a
 * type, which validation never lets through.
 */
export function encodeProperties(props: Record<string, Value>): Buffer {
  scratch.pos = 0;
  properties(scratch, props);
  return copyOut(scratch.buf.subarray(0, scratch.pos));
}

function entityResult(w: Writer, field: number, r: Obj): void {
  const m = w.begin(field);
  entity(w, 1, r!.entity as Obj);
  const cursor = r!.cursor as Uint8Array | undefined;
  if (cursor && cursor.length > 0) w.bytes(3, cursor);
  const version = r!.version;
  if (version !== null && version !== undefined && String(version) !== '0') {
    w.tag(4, 0);
    w.int64(String(version));
  }
  timestamp(w, 5, r!.updateTime as Obj);
  timestamp(w, 6, r!.createTime as Obj);
  w.end(m);
}

const RUN_QUERY_FIELDS = new Set(['batch', 'transaction']);
const BATCH_FIELDS = new Set([
  'entityResultType', 'entityResults', 'endCursor', 'moreResults', 'skippedResults', 'skippedCursor', 'snapshotVersion', 'readTime',
]);
const LOOKUP_FIELDS = new Set(['found', 'missing', 'deferred', 'transaction', 'readTime']);

function defined(o: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const k in o) if (o[k] !== undefined && o[k] !== null && !allowed.has(k)) return false;
  return true;
}

function bytesField(w: Writer, field: number, b: unknown): void {
  if (b !== null && b !== undefined && (b as Uint8Array).length > 0) w.bytes(field, b as Uint8Array);
}

/** RunQueryResponse bytes, or undefined when the response has parts this encoder does not handle. */
export function encodeRunQueryResponse(response: Record<string, unknown>): Buffer | undefined {
  const batch = response.batch as Record<string, unknown> | undefined;
  if (!batch || !defined(response, RUN_QUERY_FIELDS) || !defined(batch, BATCH_FIELDS)) return undefined;
  try {
    const w = new Writer();
    const b = w.begin(1);
    const type = RESULT_TYPE[String(batch.entityResultType ?? 'RESULT_TYPE_UNSPECIFIED')];
    const more = MORE_RESULTS[String(batch.moreResults ?? 'MORE_RESULTS_TYPE_UNSPECIFIED')];
    if (type === undefined || more === undefined) return undefined;
    if (type !== 0) {
      w.tag(1, 0);
      w.varint(type);
    }
    for (const r of (batch.entityResults ?? []) as Obj[]) entityResult(w, 2, r);
    bytesField(w, 3, batch.skippedCursor);
    bytesField(w, 4, batch.endCursor);
    if (more !== 0) {
      w.tag(5, 0);
      w.varint(more);
    }
    const skipped = Number(batch.skippedResults ?? 0);
    if (skipped !== 0) {
      w.tag(6, 0);
      w.varint(skipped);
    }
    if (batch.snapshotVersion !== undefined && batch.snapshotVersion !== null && String(batch.snapshotVersion) !== '0') {
      w.tag(7, 0);
      w.int64(String(batch.snapshotVersion));
    }
    timestamp(w, 8, batch.readTime as Obj);
    w.end(b);
    bytesField(w, 5, response.transaction);
    return w.finish();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

/** LookupResponse bytes, or undefined when the response has parts this encoder does not handle. */
export function encodeLookupResponse(response: Record<string, unknown>): Buffer | undefined {
  if (!defined(response, LOOKUP_FIELDS)) return undefined;
  try {
    const w = new Writer();
    for (const r of (response.found ?? []) as Obj[]) entityResult(w, 1, r);
    for (const r of (response.missing ?? []) as Obj[]) entityResult(w, 2, r);
    for (const k of (response.deferred ?? []) as Obj[]) key(w, 3, k);
    bytesField(w, 5, response.transaction);
    timestamp(w, 7, response.readTime as Obj);
    return w.finish();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

const COMMIT_FIELDS = new Set(['mutationResults', 'indexUpdates', 'commitTime']);
const MUTATION_RESULT_FIELDS = new Set(['key', 'version', 'conflictDetected', 'updateTime', 'createTime', 'transformResults']);

/**
 * CommitResponse bytes, or undefined when the response has parts this
 * encoder does not handle. A bulk write's commit answers with one
 * MutationResult per entity, each with its own version and two timestamps:
 * through proto-loader that was ~4 % of the emulator's CPU in a restore.
 */
export function encodeCommitResponse(response: Record<string, unknown>): Buffer | undefined {
  if (!defined(response, COMMIT_FIELDS)) return undefined;
  try {
    const w = new Writer(16 * 1024);
    for (const r of (response.mutationResults ?? []) as Record<string, unknown>[]) {
      if (!defined(r, MUTATION_RESULT_FIELDS)) return undefined;
      const m = w.begin(3);
      key(w, 3, r.key as Obj);
      const version = r.version;
      if (version !== null && version !== undefined && String(version) !== '0') {
        w.tag(4, 0);
        w.int64(String(version));
      }
      if (r.conflictDetected) {
        w.tag(5, 0);
        w.varint(1);
      }
      timestamp(w, 6, r.updateTime as Obj);
      timestamp(w, 7, r.createTime as Obj);
      for (const v of (r.transformResults ?? []) as Value[]) value(w, 8, v);
      w.end(m);
    }
    const updates = Number(response.indexUpdates ?? 0);
    if (updates !== 0) {
      // int32: proto-loader would write a negative one sign-extended; ours never are
      if (!(updates > 0 && updates <= 0x7fffffff && Number.isInteger(updates))) return undefined;
      w.tag(4, 0);
      w.varint(updates);
    }
    timestamp(w, 8, response.commitTime as Obj);
    return w.finish();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}
