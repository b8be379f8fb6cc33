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
 * An entity's property entries are also handed over as the request's own
 * bytes (`requestPacked`) when they are exactly what encodeProperties
 * (wire.ts) would write for the decoded properties: what the emulator stores
 * (packed.ts), so a bulk write stores them without encoding each entity
 * again (that encoding was ~15 % of the emulator's CPU in a restore). The
 * decoder checks this as it reads: fields in field-number order, no default
 * the encoder leaves out, minimal varints, names a plain object keeps in
 * order (no repeats, no array indices), no NaN payloads, and key values
 * that carry their project (validation fills a missing one, which changes
 * the bytes). Anything else is still decoded, and encoded as before.
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
 * Whether the entity being read is still in the form encodeProperties
 * writes; cleared by whatever the encoder would write otherwise.
 */
let canon = true;
/** Where the top-level entity's first property entry began (-1: none yet). */
let entriesFrom = -1;

/** A varint that ends in a zero byte after its first is not the shortest form: the encoder would write fewer bytes. */
function minimal(buf: Uint8Array, start: number, end: number): void {
  if (end - start > 1 && buf[end - 1] === 0) canon = false;
}

/** The request's bytes of each entity's property entries, where they are what encodeProperties would write. */
const packedBytes = new WeakMap<object, Buffer>();

/**
 * The property entries (Entity field 3, wire format) of an entity this
 * decoder returned, exactly as encodeProperties would write its decoded
 * properties; undefined when they are not, or for an entity from elsewhere.
 * A view into the request: copy before keeping it.
 */
export function requestPacked(entity: object): Buffer | undefined {
  return packedBytes.get(entity);
}

/**
 * One reader for the whole request: each message is read up to its end (no
 * reader, no [start, end] pair allocated per message), strings without going
 * through Buffer#toString's encoding lookup.
 */
class Reader extends PackedReader {
  override uint(): number {
    const start = this.pos;
    const n = super.uint();
    minimal(this.buf, start, this.pos);
    return n;
  }

  override int64(): string {
    const start = this.pos;
    const n = super.int64();
    minimal(this.buf, start, this.pos);
    return n;
  }

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
    if (name === 'delete') body = key(r, r.open());
    else {
      canon = true;
      const end = r.open();
      body = entity(r, end, true);
      if (canon) packedBytes.set(body, (r.buf as Buffer).subarray(entriesFrom < 0 ? end : entriesFrom, end));
    }
  }
  r.close(end);
  if (op === undefined) throw notFast;
  return { propertyTransforms: [], propertyMask: null, conflictResolutionStrategy: 'STRATEGY_UNSPECIFIED', [op]: body, operation: op };
}

/** An Entity; `top` for a mutation's own entity, whose key is not among the bytes stored (packed.ts). */
function entity(r: Reader, end: number, top = false): Obj {
  const properties: Obj = {};
  let k: Obj | null = null;
  let first = -1;
  while (r.pos < end) {
    const at = r.pos;
    const tag = r.uint();
    if (tag === 26) {
      if (first < 0) first = at;
      entry(r, r.open(), properties);
    } else if (tag === 10) {
      // the encoder writes the key once, before the properties
      if (first >= 0 || k !== null) canon = false;
      const before = canon;
      k = key(r, r.open());
      if (top) canon = before;
    } else {
      canon = false;
      r.skipTag(tag);
    }
  }
  r.close(end);
  if (top) entriesFrom = first;
  return { properties, key: k };
}

function entry(r: Reader, end: number, out: Obj): void {
  let name = '';
  let v: Obj | undefined;
  // the encoder writes the name, then the value, each once
  let seen = 0;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 10) {
      if (seen !== 0) canon = false;
      seen = 1;
      name = r.utf8();
    } else if (tag === 18) {
      if (seen !== 1) canon = false;
      seen = 2;
      v = value(r, r.open());
    } else {
      canon = false;
      r.skipTag(tag);
    }
  }
  r.close(end);
  // assigned, `__proto__` would set the object's prototype and the property would vanish unrefused (it is a reserved
  // name): proto-loader's decoding keeps it as a property, and validation refuses it as production does
  if (name === '__proto__') throw notFast;
  if (seen !== 2) canon = false;
  // a repeated name keeps its first place with the last value; index-like names are enumerated first
  const c = name.charCodeAt(0);
  if ((c >= 48 && c <= 57) || Object.hasOwn(out, name)) canon = false;
  out[name] = v ?? { meaning: 0, excludeFromIndexes: false };
}

function key(r: Reader, end: number): Obj {
  const path: Obj[] = [];
  let partitionId: Obj | null = null;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 18) path.push(pathElement(r, r.open()));
    else if (tag === 10) {
      // the encoder: the partition once, before the path, its non-empty fields in field order
      if (partitionId !== null || path.length > 0) canon = false;
      const pend = r.open();
      let projectId = '';
      let databaseId = '';
      let namespaceId = '';
      let last = 0;
      while (r.pos < pend) {
        const t = r.uint();
        if (t <= last) canon = false;
        last = t;
        let text: string;
        if (t === 18) text = projectId = r.utf8();
        else if (t === 26) text = databaseId = r.utf8();
        else if (t === 34) text = namespaceId = r.utf8();
        else {
          canon = false;
          r.skipTag(t);
          continue;
        }
        if (text === '') canon = false;
      }
      r.close(pend);
      partitionId = { projectId, databaseId, namespaceId };
    } else {
      canon = false;
      r.skipTag(tag);
    }
  }
  r.close(end);
  return { path, partitionId };
}

function pathElement(r: Reader, end: number): Obj {
  let kind = '';
  let id: string | undefined;
  let name: string | undefined;
  let sawKind = false;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === 10) {
      // the encoder: a non-empty kind, once, before the id or name
      if (sawKind || id !== undefined || name !== undefined) canon = false;
      sawKind = true;
      kind = r.utf8();
      if (kind === '') canon = false;
    } else if (tag === 16) {
      if (id !== undefined || name !== undefined) throw notFast;
      id = r.int64();
    } else if (tag === 26) {
      if (id !== undefined || name !== undefined) throw notFast;
      name = r.utf8();
    } else {
      canon = false;
      r.skipTag(tag);
    }
  }
  r.close(end);
  if (id !== undefined) return { kind, id, idType: 'id' };
  if (name !== undefined) return { kind, name, idType: 'name' };
  return { kind };
}

function timestamp(r: Reader, end: number): Obj {
  let seconds = '0';
  let nanos = 0;
  // the encoder: seconds unless 0, then nanos unless 0
  let last = 0;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag <= last) canon = false;
    last = tag;
    if (tag === 8) {
      seconds = r.int64();
      if (seconds === '0') canon = false;
    } else if (tag === 16) {
      nanos = int32(r);
      if (!(nanos > 0)) canon = false;
    } else {
      canon = false;
      r.skipTag(tag);
    }
  }
  r.close(end);
  return { seconds, nanos };
}

/** An int32 field (negative ones are sign-extended to 10 bytes): the varint's low 32 bits, as protobufjs reads it. */
function int32(r: Reader): number {
  let lo = 0;
  const start = r.pos;
  for (let shift = 0; ; shift += 7) {
    if (r.pos >= r.end) throw notFast;
    const b = r.buf[r.pos++]!;
    if (shift < 32) lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      // over 5 bytes: bits the value drops, which the encoder would not write back
      if (r.pos - start > 5) canon = false;
      minimal(r.buf, start, r.pos);
      return lo | 0;
    }
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
  // the encoder: the value's one field, meaning unless 0 and exclude_from_indexes if true, in field-number order
  let last = 0;
  while (r.pos < end) {
    const tag = r.uint();
    if (tag >>> 3 <= last) canon = false;
    last = tag >>> 3;
    switch (tag) {
      case 8: {
        const b = r.uint();
        if (b > 1) canon = false;
        put(v, 'booleanValue', b !== 0);
        break;
      }
      case 16:
        put(v, 'integerValue', r.int64());
        break;
      case 25: {
        const d = r.double();
        // NaN's payload bits need not survive a number
        if (d !== d) canon = false;
        put(v, 'doubleValue', d);
        break;
      }
      case 42: {
        const k = key(r, r.open());
        // validation fills a key value's missing project, so its bytes change
        if (!(k.partitionId as Obj | null)?.projectId) canon = false;
        put(v, 'keyValue', k);
        break;
      }
      case 50:
        put(v, 'entityValue', entity(r, r.open()));
        break;
      case 66: {
        const gend = r.open();
        let latitude = 0;
        let longitude = 0;
        let last = 0;
        while (r.pos < gend) {
          const t = r.uint();
          if (t <= last) canon = false;
          last = t;
          let d: number;
          if (t === 9) d = latitude = r.double();
          else if (t === 17) d = longitude = r.double();
          else {
            canon = false;
            r.skipTag(t);
            continue;
          }
          // the encoder leaves out +0 (not -0)
          if (d !== d || (d === 0 && !Object.is(d, -0))) canon = false;
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
          else {
            canon = false;
            r.skipTag(t);
          }
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
        if (!((v.meaning as number) > 0)) canon = false;
        break;
      case 138:
        put(v, 'stringValue', r.utf8());
        break;
      case 146:
        put(v, 'blobValue', r.blob());
        break;
      case 152: {
        const x = r.uint();
        if (x !== 1) canon = false;
        v.excludeFromIndexes = x !== 0;
        break;
      }
      default:
        // packed forms of the scalar fields, or a field from a newer proto: proto-loader's to read
        throw notFast;
    }
  }
  r.close(end);
  if (v.valueType === undefined) canon = false;
  return v;
}
