/**
 * A CommitRequest's bytes straight to the object proto-loader would give the
 * service (`keepCase: false, longs: String, enums: String, defaults: true,
 * oneofs: true`, server.ts), for the requests a bulk write sends: mutations
 * that are each one insert, update, upsert or delete and nothing else. The
 * rest (transactions, base versions, update times, property masks and
 * transforms, conflict strategies, a value or key element with two of its
 * oneof's fields, a string that is not UTF-8) comes back `undefined`, and
 * proto-loader decodes it as before: this is a faster path to the same
 * object, never a second reading of the protocol. test/emulator/commit-request
 * compares the two on every value type.
 *
 * Why: proto-loader's decode and toObject of a restore's Commit (500 ~1 KB
 * entities, each value an object with every default field) was about as much
 * of the emulator's CPU as the commit itself.
 *
 * Field numbers: google/datastore/v1/datastore.proto and entity.proto.
 */
import { isUtf8 } from 'node:buffer';
import { Reader as PackedReader } from './packed.js';

type Obj = Record<string, unknown>;

/** Buffer's own slice decoders (on Buffer.prototype in every Node release; not in @types/node). */
type SliceBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/** Thrown inside to give up on the fast path; never escapes decodeCommitRequest. */
class NotFast extends Error {}
const notFast = new NotFast();

/**
 * One reader for the whole request: each message is read up to its end (no
 * reader, no [start, end] pair allocated per message), strings without going
 * through Buffer#toString's encoding lookup.
 */
class Reader extends PackedReader {
  /** A length-delimited field: moves to its body and returns where the body ends. */
  open(): number {
    const n = this.uint();
    const end = this.pos + n;
    if (end > this.end) throw notFast;
    return end;
  }

  /** A string field; one that is not UTF-8 leaves the fast path (protobufjs and Buffer differ on what they make of it). */
  utf8(): string {
    const e = this.open();
    const s = this.pos;
    const buf = this.buf as SliceBuffer;
    this.pos = e;
    let ascii = true;
    for (let i = s; i < e; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      if (e - s <= 16) {
        // short names and ids: cheaper than a call into C++
        let out = '';
        for (let i = s; i < e; i++) out += String.fromCharCode(buf[i]!);
        return out;
      }
      return buf.latin1Slice(s, e);
    }
    if (!isUtf8(buf.subarray(s, e))) throw notFast;
    return buf.utf8Slice(s, e);
  }

  blob(): Buffer {
    const e = this.open();
    const b = this.buf.subarray(this.pos, e);
    this.pos = e;
    return b;
  }

  /** A message's fields must end where its length said (a field running past it is malformed). */
  close(end: number): void {
    if (this.pos !== end) throw notFast;
  }
}

const MODES = ['MODE_UNSPECIFIED', 'TRANSACTIONAL', 'NON_TRANSACTIONAL'];

/** The request as proto-loader's deserializer gives it, or undefined for proto-loader to decode. */
export function decodeCommitRequest(buffer: Buffer): Obj | undefined {
  try {
    const r = new Reader(buffer);
    const mutations: Obj[] = [];
    let mode = 'MODE_UNSPECIFIED';
    let projectId = '';
    let databaseId = '';
    while (!r.done()) {
      const tag = r.uint();
      if (tag === 50) mutations.push(mutation(r, r.open()));
      else if (tag === 66) projectId = r.utf8();
      else if (tag === 74) databaseId = r.utf8();
      else if (tag === 40) {
        const m = MODES[r.uint()];
        if (m === undefined) return undefined;
        mode = m;
      } else return undefined; // a transaction, single_use_transaction or a field we do not know
    }
    return { mutations, mode, projectId, databaseId };
  } catch (err) {
    if (err === notFast) return undefined;
    // malformed bytes: proto-loader words the error the service has always returned
    return undefined;
  }
}

const OPS: Record<number, string> = { 34: 'insert', 42: 'update', 50: 'upsert', 58: 'delete' };

function mutation(r: Reader, end: number): Obj {
  let op: string | undefined;
  let body: Obj | undefined;
  while (r.pos < end) {
    const tag = r.uint();
    const name = OPS[tag];
    if (name === undefined || op !== undefined) throw notFast;
    op = name;
    body = name === 'delete' ? key(r, r.open()) : entity(r, r.open());
  }
  r.close(end);
  if (op === undefined) throw notFast;
  return { propertyTransforms: [], propertyMask: null, conflictResolutionStrategy: 'STRATEGY_UNSPECIFIED', [op]: body, operation: op };
}

function entity(r: Reader, end: number): Obj {
  const properties: Obj = {};
  let k: Obj | null = null;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 26) entry(r, r.open(), properties);
    else if (tag === 10) k = key(r, r.open());
    else r.skipTag(tag);
  }
  r.close(end);
  return { properties, key: k };
}

function entry(r: Reader, end: number, out: Obj): void {
  let name = '';
  let v: Obj | undefined;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 10) name = r.utf8();
    else if (tag === 18) v = value(r, r.open());
    else r.skipTag(tag);
  }
  r.close(end);
  out[name] = v ?? { meaning: 0, excludeFromIndexes: false };
}

function key(r: Reader, end: number): Obj {
  const path: Obj[] = [];
  let partitionId: Obj | null = null;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 18) path.push(pathElement(r, r.open()));
    else if (tag === 10) {
      const pend = r.open();
      let projectId = '';
      let databaseId = '';
      let namespaceId = '';
      while (r.pos < pend) {
        const t = r.uint();
        if (t === 18) projectId = r.utf8();
        else if (t === 26) databaseId = r.utf8();
        else if (t === 34) namespaceId = r.utf8();
        else r.skipTag(t);
      }
      r.close(pend);
      partitionId = { projectId, databaseId, namespaceId };
    } else r.skipTag(tag);
  }
  r.close(end);
  return { path, partitionId };
}

function pathElement(r: Reader, end: number): Obj {
  let kind = '';
  let id: string | undefined;
  let name: string | undefined;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 10) kind = r.utf8();
    else if (tag === 16) {
      if (id !== undefined || name !== undefined) throw notFast;
      id = r.int64();
    } else if (tag === 26) {
      if (id !== undefined || name !== undefined) throw notFast;
      name = r.utf8();
    } else r.skipTag(tag);
  }
  r.close(end);
  if (id !== undefined) return { kind, id, idType: 'id' };
  if (name !== undefined) return { kind, name, idType: 'name' };
  return { kind };
}

function timestamp(r: Reader, end: number): Obj {
  let seconds = '0';
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 8) seconds = r.int64();
    else if (tag === 16) nanos = int32(r);
    else r.skipTag(tag);
  }
  r.close(end);
  return { seconds, nanos };
}

/** An int32 field (negative ones are sign-extended to 10 bytes): the varint's low 32 bits, as protobufjs reads it. */
function int32(r: Reader): number {
  let lo = 0;
  for (let shift = 0; ; shift += 7) {
    if (r.pos >= r.end) throw notFast;
    const b = r.buf[r.pos++]!;
    if (shift < 32) lo |= (b & 0x7f) << shift;
    if (b < 0x80) return lo | 0;
    if (shift >= 63) throw notFast;
  }
}

/** Sets the value's one field of its value_type oneof; a second one leaves the fast path. */
function put(v: Obj, type: string, x: unknown): void {
  if (v.valueType !== undefined) throw notFast;
  v[type] = x;
  v.valueType = type;
}

function value(r: Reader, end: number): Obj {
  const v: Obj = { meaning: 0, excludeFromIndexes: false };
  while (r.pos < end) {
    const tag = r.uint();
    switch (tag) {
      case 8:
        put(v, 'booleanValue', r.uint() !== 0);
        break;
      case 16:
        put(v, 'integerValue', r.int64());
        break;
      case 25:
        put(v, 'doubleValue', r.double());
        break;
      case 42:
        put(v, 'keyValue', key(r, r.open()));
        break;
      case 50:
        put(v, 'entityValue', entity(r, r.open()));
        break;
      case 66: {
        const gend = r.open();
        let latitude = 0;
        let longitude = 0;
        while (r.pos < gend) {
          const t = r.uint();
          if (t === 9) latitude = r.double();
          else if (t === 17) longitude = r.double();
          else r.skipTag(t);
        }
        r.close(gend);
        put(v, 'geoPointValue', { latitude, longitude });
        break;
      }
      case 74: {
        const aend = r.open();
        const values: Obj[] = [];
        while (r.pos < aend) {
          const t = r.uint();
          if (t === 10) values.push(value(r, r.open()));
          else r.skipTag(t);
        }
        r.close(aend);
        put(v, 'arrayValue', { values });
        break;
      }
      case 82:
        put(v, 'timestampValue', timestamp(r, r.open()));
        break;
      case 88:
        // google.protobuf.NullValue has one name; another number is not one proto-loader can name
        if (r.uint() !== 0) throw notFast;
        put(v, 'nullValue', 'NULL_VALUE');
        break;
      case 112:
        v.meaning = int32(r);
        break;
      case 138:
        put(v, 'stringValue', r.utf8());
        break;
      case 146:
        put(v, 'blobValue', r.blob());
        break;
      case 152:
        v.excludeFromIndexes = r.uint() !== 0;
        break;
      default:
        // packed forms of the scalar fields, or a field from a newer proto: proto-loader's to read
        throw notFast;
    }
  }
  r.close(end);
  return v;
}
