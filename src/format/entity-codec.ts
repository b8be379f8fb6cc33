/**
 * The dump line codec: one Datastore entity <-> one line of JSON in the
 * Datastore v1 REST form (the proto3 JSON mapping), losslessly.
 *
 * Proto side: the objects `v1.DatastoreClient` returns (proto-loader with
 * longs/enums as String, defaults, oneofs): int64 as decimal strings, bytes as
 * Buffer, `valueType` naming the oneof, `meaning: 0` / `excludeFromIndexes:
 * false` defaults, path elements with `idType`. `decodeEntity` produces exactly
 * that shape (test/format/entity-codec.test.ts checks it against proto-loader
 * itself). `encodeEntity` also takes the looser request shapes people build by
 * hand: no `valueType`, ids and seconds as number/bigint/Long, blobs as
 * Uint8Array or base64, missing defaults.
 *
 * Canonical line (what makes two dumps of the same data byte-identical):
 * - `{"key":K,"properties":{...}}`; property names sorted by UTF-8 byte order
 *   (compareUtf8, the order Datastore itself uses and what `sort` gives in
 *   most other languages), whatever order the object had.
 * - keys: `{"partitionId":{"projectId","databaseId","namespaceId"},"path":[...]}`
 *   with all three partition fields always written, empty strings included
 *   (an absent partitionId is written as three empty strings); path elements
 *   `{"kind","id"}` with the id as a decimal string, or `{"kind","name"}`.
 * - each value: the value field first, then `"meaning"` only when non-zero,
 *   then `"excludeFromIndexes":true` only when true.
 * - integerValue: decimal string over the whole int64 range; doubleValue: the
 *   shortest round-trip number (`-0` kept), or "NaN" / "Infinity" /
 *   "-Infinity"; timestampValue: RFC 3339 `Z` with six fractional digits
 *   (sub-microsecond nanos truncated, as Datastore does); blobValue: standard
 *   padded base64; geoPointValue: both coordinates always written; empty
 *   array: `{"arrayValue":{}}` (as the REST API writes it); entityValue:
 *   `{"key"?,"properties":{...}}`.
 * - strings: JSON.stringify escapes, so NUL and every valid code point round
 *   trip. Lone surrogates are refused with an error naming the property: they
 *   are not valid UTF-8, gRPC would silently replace them with U+FFFD, so
 *   Datastore can neither hold nor return them.
 *
 * Decoding is one JSON.parse and a walk; it is strict about what it accepts
 * and every error names the property path (`address.street[2]`,
 * `__key__.path[0].id`, `owner.__key__` for an entity value's key).
 */
import { DspipeError } from '../errors.js';
import type { IEntity, IKey, IValue } from '../model/proto.js';
import { compareUtf8 } from '../model/key-order.js';
import { MAX_ENTITY_DEPTH, MAX_KEY_PATH, MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from '../model/limits.js';
import { VALUE_FIELDS } from '../model/value-types.js';
import { formatTimestamp, parseTimestamp } from './timestamp.js';

export interface LineLocation {
  file?: string;
  line?: number;
}

// ---------------------------------------------------------------------------
// Faults carry the path segments collected while unwinding, so the hot path
// never builds a path string. Not an Error: no stack capture per fault.

class Fault {
  readonly segs: string[] = [];
  constructor(readonly message: string, readonly hint?: string) {}
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function nameSeg(name: string): string {
  return IDENT_RE.test(name) ? name : '[' + JSON.stringify(name) + ']';
}

function withSeg(err: unknown, seg: string): unknown {
  if (err instanceof Fault) err.segs.push(seg);
  return err;
}

function joinPath(prefix: string | undefined, segs: readonly string[]): string | undefined {
  let path = prefix ?? '';
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i]!;
    if (s.charCodeAt(0) === 91 /* [ */ || path === '') path += s;
    else path += '.' + s;
  }
  return path === '' ? undefined : path;
}

function lineError(err: unknown, where: LineLocation | undefined, prefix?: string): unknown {
  if (!(err instanceof Fault)) return err;
  const ctx: { file?: string; line?: number; path?: string; hint?: string } = {};
  if (where?.file !== undefined) ctx.file = where.file;
  if (where?.line !== undefined) ctx.line = where.line;
  const path = joinPath(prefix, err.segs);
  if (path !== undefined) ctx.path = path;
  if (err.hint !== undefined) ctx.hint = err.hint;
  return new DspipeError('DSPIPE_INVALID_LINE', err.message, ctx);
}

function encodeError(err: unknown): unknown {
  if (!(err instanceof Fault)) return err;
  const ctx: { path?: string; hint?: string } = {};
  const path = joinPath(undefined, err.segs);
  if (path !== undefined) ctx.path = path;
  if (err.hint !== undefined) ctx.hint = err.hint;
  return new DspipeError('DSPIPE_REJECTED_ENTITY', 'cannot encode entity: ' + err.message, ctx);
}

// ---------------------------------------------------------------------------
// Scalars shared by both directions.

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';

/**
 * Canonical decimal int64: optional '-', no '+', no leading zeros, no "-0",
 * within -2^63..2^63-1. A loop, not a regex: it runs for every integer and id.
 */
export function isInt64String(s: string): boolean {
  const len = s.length;
  const neg = len > 1 && s.charCodeAt(0) === 45;
  const start = neg ? 1 : 0;
  const digits = len - start;
  if (digits === 0 || digits > 19) return false;
  const first = s.charCodeAt(start);
  if (first === 48) return len === 1; // "0"; never "-0" or "01"
  if (first < 49 || first > 57) return false;
  for (let i = start + 1; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  if (digits < 19) return true;
  // Same-length decimal strings compare like the numbers they spell.
  return neg ? s.slice(1) <= INT64_MIN_ABS : s <= INT64_MAX;
}

/** A key id: canonical decimal 1..2^63-1. */
export function isIdString(s: string): boolean {
  return s.length > 0 && s.charCodeAt(0) !== 45 && s !== '0' && isInt64String(s);
}

export const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/\p{Surrogate}/u.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

const LONE_SURROGATE_HINT =
  'strings must be valid Unicode: a lone UTF-16 surrogate cannot be encoded as UTF-8 and Datastore cannot store it';

function checkString(s: string, what: string): void {
  if (!isWellFormed(s)) throw new Fault(`${what} contains a lone surrogate (invalid UTF-16)`, LONE_SURROGATE_HINT);
}

// ---------------------------------------------------------------------------
// Encoder: proto (or hand-built request) objects -> JSON text, built directly.

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

const TWO63 = 9223372036854775808;

/** Any int64-ish input (string, number, bigint, Long) -> canonical decimal. */
function int64Text(x: Loose, what: string): string {
  switch (typeof x) {
    case 'string':
      if (isInt64String(x)) return x;
      throw new Fault(`${what} ${JSON.stringify(x)} is not a decimal int64 (-9223372036854775808..9223372036854775807)`);
    case 'number':
      if (Number.isSafeInteger(x)) return String(x);
      if (Number.isInteger(x) && x >= -TWO63 && x < TWO63) return BigInt(x).toString();
      throw new Fault(`${what} ${String(x)} is not an int64`);
    case 'bigint':
      if (x >= -(2n ** 63n) && x < 2n ** 63n) return x.toString();
      throw new Fault(`${what} ${x.toString()} is out of the int64 range`);
    case 'object':
      if (x !== null && typeof x.low === 'number' && typeof x.high === 'number') {
        // A Long (protobufjs' int64 when longs are not strings).
        const bits = (BigInt(x.high >>> 0) << 32n) | BigInt(x.low >>> 0);
        if (x.unsigned === true && bits >= 2n ** 63n) throw new Fault(`${what} ${bits.toString()} is out of the int64 range`);
        return BigInt.asIntN(64, bits).toString();
      }
  }
  throw new Fault(`${what} must be a decimal string, number, bigint or Long, not ${shape(x)}`);
}

/** How a wrong input looks, for error messages. */
function shape(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'string' ? `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}` : typeof x;
}

function doubleText(d: number): string {
  if (d - d === 0) return d === 0 && 1 / d < 0 ? '-0' : String(d);
  return d !== d ? '"NaN"' : d > 0 ? '"Infinity"' : '"-Infinity"';
}

function doubleIn(x: Loose, what: string): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  throw new Fault(`${what} must be a number, not ${shape(x)}`);
}

function quote(s: Loose, what: string): string {
  if (typeof s !== 'string') throw new Fault(`${what} must be a string, not ${shape(s)}`);
  if (!isWellFormed(s)) checkString(s, what);
  return JSON.stringify(s);
}

// Property names repeat across millions of entities: keep their JSON text,
// `"name":` and `,"name":`, so each property costs one concatenation.
interface NameText {
  first: string;
  next: string;
}
const nameCache = new Map<string, NameText>();

function nameText(name: string): NameText {
  let t = nameCache.get(name);
  if (t === undefined) {
    if (name === '') throw new Fault('property name must not be empty');
    checkString(name, 'property name');
    const q = JSON.stringify(name);
    t = { first: q + ':', next: ',' + q + ':' };
    if (nameCache.size >= 50000) nameCache.clear();
    nameCache.set(name, t);
  }
  return t;
}

// The last data character before "==" / "=" must leave the unused low bits
// zero, or two different texts would decode to the same bytes.
const LAST_BEFORE_PAD2 = 'AQgw';
const LAST_BEFORE_PAD1 = 'AEIMQUYcgkosw048';

/** Strict standard base64 (padded, canonical trailing bits) -> bytes, or null. */
export function base64Bytes(s: string): Buffer | null {
  const len = s.length;
  if (len % 4 !== 0) return null;
  if (len === 0) return Buffer.alloc(0);
  // atob is native and refuses characters outside the standard alphabet and
  // misplaced '='; it skips whitespace and accepts missing padding, which the
  // length check catches. (Buffer.from(s, 'base64') would silently skip junk.)
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    return null;
  }
  const pad = s.charCodeAt(len - 1) !== 61 ? 0 : s.charCodeAt(len - 2) !== 61 ? 1 : 2;
  if (bin.length !== (len / 4) * 3 - pad) return null;
  if (pad === 2 && !LAST_BEFORE_PAD2.includes(s[len - 3]!)) return null;
  if (pad === 1 && !LAST_BEFORE_PAD1.includes(s[len - 2]!)) return null;
  return Buffer.from(bin, 'latin1');
}

function blobText(x: Loose): string {
  if (Buffer.isBuffer(x)) return '"' + x.toString('base64') + '"';
  if (x instanceof Uint8Array) return '"' + Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') + '"';
  if (typeof x === 'string') {
    if (base64Bytes(x) === null) {
      throw new Fault('blobValue is not valid standard base64', 'use standard base64 with padding (A-Z a-z 0-9 + /, =)');
    }
    return '"' + x + '"';
  }
  throw new Fault(`blobValue must be a Buffer, Uint8Array or base64 string, not ${shape(x)}`);
}

function timestampText(t: Loose): string {
  if (t === null || typeof t !== 'object') throw new Fault(`timestampValue must be {seconds, nanos}, not ${shape(t)}`);
  const sx = t.seconds;
  let seconds: number;
  if (sx === undefined || sx === null) seconds = 0;
  else if (typeof sx === 'number') seconds = sx;
  else seconds = Number(int64Text(sx, 'timestampValue.seconds'));
  const nanos = t.nanos === undefined || t.nanos === null ? 0 : t.nanos;
  if (!Number.isInteger(seconds) || seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new Fault(`timestampValue.seconds ${String(sx)} is outside 0001-01-01..9999-12-31`);
  }
  if (typeof nanos !== 'number' || !Number.isInteger(nanos) || nanos < 0 || nanos > 999999999) {
    throw new Fault(`timestampValue.nanos ${String(nanos)} must be an integer 0..999999999`);
  }
  return '"' + formatTimestamp(seconds, nanos) + '"';
}

let lastPartition = { projectId: '', databaseId: '', namespaceId: '', text: '{"projectId":"","databaseId":"","namespaceId":""}' };

function partitionText(p: Loose): string {
  if (p === null || p === undefined) return '{"projectId":"","databaseId":"","namespaceId":""}';
  if (typeof p !== 'object') throw new Fault(`partitionId must be an object, not ${shape(p)}`);
  const projectId = p.projectId ?? '';
  const databaseId = p.databaseId ?? '';
  const namespaceId = p.namespaceId ?? '';
  // Consecutive keys nearly always share their partition.
  const last = lastPartition;
  if (projectId === last.projectId && databaseId === last.databaseId && namespaceId === last.namespaceId) return last.text;
  const text =
    '{"projectId":' +
    quote(projectId, 'partitionId.projectId') +
    ',"databaseId":' +
    quote(databaseId, 'partitionId.databaseId') +
    ',"namespaceId":' +
    quote(namespaceId, 'partitionId.namespaceId') +
    '}';
  lastPartition = { projectId, databaseId, namespaceId, text };
  return text;
}

function pathElementText(e: Loose, last: boolean, allowIncomplete: boolean): string {
  if (e === null || typeof e !== 'object') throw new Fault(`path element must be an object, not ${shape(e)}`);
  const kind = e.kind;
  if (typeof kind !== 'string' || kind === '') throw new Fault('path element needs a non-empty kind');
  let s = '{"kind":' + quote(kind, 'kind');
  const idType = e.idType;
  const id = idType === 'name' ? undefined : e.id;
  const name = idType === 'id' ? undefined : e.name;
  const hasId = id !== undefined && id !== null;
  const hasName = name !== undefined && name !== null;
  if (hasId && hasName) throw new Fault('path element has both an id and a name');
  if (hasId) {
    const text = int64Text(id, 'id');
    if (text === '0' || text.charCodeAt(0) === 45) throw new Fault(`id ${text} is invalid: ids are 1..9223372036854775807`);
    return s + ',"id":"' + text + '"}';
  }
  if (hasName) {
    if (name === '') throw new Fault('path element name must not be empty');
    return s + ',"name":' + quote(name, 'name') + '}';
  }
  if (!(last && allowIncomplete)) throw new Fault(`path element of kind ${JSON.stringify(kind)} has neither id nor name (incomplete key)`);
  return s + '}';
}

function keyText(k: Loose, allowIncomplete: boolean): string {
  if (k === null || typeof k !== 'object') throw new Fault(`key must be an object, not ${shape(k)}`);
  const path = k.path;
  if (!Array.isArray(path) || path.length === 0) throw new Fault('key path is empty');
  const n = path.length;
  if (n > MAX_KEY_PATH) throw new Fault(`key path has ${n} elements, more than ${MAX_KEY_PATH}`);
  let s: string;
  try {
    s = '{"partitionId":' + partitionText(k.partitionId) + ',"path":[';
  } catch (err) {
    throw withSeg(err, 'partitionId');
  }
  for (let i = 0; i < n; i++) {
    try {
      s += (i === 0 ? '' : ',') + pathElementText(path[i], i === n - 1, allowIncomplete);
    } catch (err) {
      throw withSeg(withSeg(err, '[' + i + ']'), 'path');
    }
  }
  return s + ']}';
}

/** Which oneof field a hand-built value sets (protobufjs prototypes hold null defaults). */
function detectType(v: Loose): string {
  let found: string | undefined;
  for (const f of VALUE_FIELDS) {
    if (v[f] !== undefined && v[f] !== null) {
      if (found !== undefined) throw new Fault(`value sets two value types: ${found} and ${f}`);
      found = f;
    }
  }
  if (found === undefined) {
    if (Object.prototype.hasOwnProperty.call(v, 'nullValue')) return 'nullValue';
    throw new Fault('value sets no value type', 'set exactly one of ' + VALUE_FIELDS.join(', '));
  }
  return found;
}

function valueText(v: Loose, depth: number): string {
  if (v === null || typeof v !== 'object') throw new Fault(`value must be an object, not ${shape(v)}`);
  let t = v.valueType;
  if (typeof t !== 'string') t = detectType(v);
  const meaning = v.meaning;
  const tail = (meaning === undefined || meaning === null || meaning === 0) && v.excludeFromIndexes !== true ? '}' : flagsText(v);
  switch (t) {
    case 'stringValue':
      return '{"stringValue":' + quote(v.stringValue, 'stringValue') + tail;
    case 'integerValue':
      return '{"integerValue":"' + int64Text(v.integerValue, 'integerValue') + '"' + tail;
    case 'doubleValue':
      return '{"doubleValue":' + doubleText(doubleIn(v.doubleValue, 'doubleValue')) + tail;
    case 'booleanValue':
      if (typeof v.booleanValue !== 'boolean') throw new Fault(`booleanValue must be a boolean, not ${shape(v.booleanValue)}`);
      return (v.booleanValue ? '{"booleanValue":true' : '{"booleanValue":false') + tail;
    case 'timestampValue':
      return '{"timestampValue":' + timestampText(v.timestampValue) + tail;
    case 'nullValue': {
      const n = v.nullValue;
      if (n !== 'NULL_VALUE' && n !== 0 && n !== null && n !== undefined) throw new Fault(`nullValue must be NULL_VALUE, not ${shape(n)}`);
      return '{"nullValue":null' + tail;
    }
    case 'blobValue':
      return '{"blobValue":' + blobText(v.blobValue) + tail;
    case 'keyValue':
      try {
        return '{"keyValue":' + keyText(v.keyValue, true) + tail;
      } catch (err) {
        throw withSeg(err, '__key__');
      }
    case 'geoPointValue': {
      const g = v.geoPointValue;
      if (g === null || typeof g !== 'object') throw new Fault(`geoPointValue must be {latitude, longitude}, not ${shape(g)}`);
      return (
        '{"geoPointValue":{"latitude":' +
        doubleText(doubleIn(g.latitude ?? 0, 'latitude')) +
        ',"longitude":' +
        doubleText(doubleIn(g.longitude ?? 0, 'longitude')) +
        '}' +
        tail
      );
    }
    case 'entityValue': {
      const e = v.entityValue;
      if (e === null || typeof e !== 'object') throw new Fault(`entityValue must be an object, not ${shape(e)}`);
      if (depth >= MAX_ENTITY_DEPTH) throw new Fault(`entity values are nested deeper than ${MAX_ENTITY_DEPTH} levels`);
      let s = '{"entityValue":{';
      if (e.key !== undefined && e.key !== null) {
        try {
          s += '"key":' + keyText(e.key, true) + ',';
        } catch (err) {
          throw withSeg(err, '__key__');
        }
      }
      return s + '"properties":' + propertiesText(e.properties, depth + 1) + '}' + tail;
    }
    case 'arrayValue': {
      const a = v.arrayValue;
      if (a === null || typeof a !== 'object') throw new Fault(`arrayValue must be {values: [...]}, not ${shape(a)}`);
      const values = a.values;
      if (values === undefined || values === null || values.length === 0) return '{"arrayValue":{}' + tail;
      if (!Array.isArray(values)) throw new Fault('arrayValue.values must be an array');
      let s = '{"arrayValue":{"values":[';
      for (let i = 0; i < values.length; i++) {
        try {
          s += (i === 0 ? '' : ',') + valueText(values[i], depth);
        } catch (err) {
          throw withSeg(err, '[' + i + ']');
        }
      }
      return s + ']}' + tail;
    }
    default:
      throw new Fault(`unknown value type ${JSON.stringify(t)}`);
  }
}

/** `,"meaning":N,"excludeFromIndexes":true}` as far as they are set. */
function flagsText(v: Loose): string {
  const meaning = v.meaning;
  let s = '';
  if (meaning !== undefined && meaning !== null && meaning !== 0) {
    if (!Number.isInteger(meaning) || meaning < -2147483648 || meaning > 2147483647) {
      throw new Fault(`meaning must be an int32, not ${shape(meaning)}`);
    }
    s += ',"meaning":' + meaning;
  }
  if (v.excludeFromIndexes === true) s += ',"excludeFromIndexes":true';
  return s + '}';
}

function propertiesText(props: Loose, depth: number): string {
  if (props === undefined || props === null) return '{}';
  if (typeof props !== 'object') throw new Fault(`properties must be an object, not ${shape(props)}`);
  const names = Object.keys(props);
  const n = names.length;
  if (n === 0) return '{}';
  // Lines we decoded, and most entities of one kind, arrive already in order:
  // checking is n-1 comparisons, sorting n log n.
  for (let i = 1; i < n; i++) {
    if (compareUtf8(names[i - 1]!, names[i]!) > 0) {
      names.sort(compareUtf8);
      break;
    }
  }
  let s = '{';
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    try {
      const t = nameText(name);
      s += (i === 0 ? t.first : t.next) + valueText(props[name], depth);
    } catch (err) {
      throw withSeg(err, nameSeg(name));
    }
  }
  return s + '}';
}

/** One entity as one line of JSON (no newline). Same entity, same bytes. */
export function encodeEntity(entity: IEntity): string {
  try {
    const e = entity as Loose;
    if (e === null || typeof e !== 'object') throw new Fault(`entity must be an object, not ${shape(e)}`);
    if (e.key === undefined || e.key === null) throw new Fault('entity has no key');
    let k: string;
    try {
      k = keyText(e.key, false);
    } catch (err) {
      throw withSeg(err, '__key__');
    }
    return '{"key":' + k + ',"properties":' + propertiesText(e.properties, 0) + '}';
  } catch (err) {
    throw encodeError(err);
  }
}

/** A key in its REST JSON form (full partitionId). Incomplete keys are accepted. */
export function encodeKey(key: IKey): object {
  try {
    return JSON.parse(keyText(key, true)) as object;
  } catch (err) {
    throw encodeError(err);
  }
}

/** A value in its REST JSON form. */
export function encodeValue(v: IValue): object {
  try {
    return JSON.parse(valueText(v, 0)) as object;
  } catch (err) {
    throw encodeError(err);
  }
}

// ---------------------------------------------------------------------------
// Decoder: JSON.parse, then a walk producing exactly proto-loader's shape.

// The walk builds its objects with constructors whose prototype is
// Object.prototype rather than with object literals: the results are plain
// objects all the same (same own keys in the same order, same prototype,
// deep-equal), but V8 tracks literal allocation sites and, once many decoded
// entities are kept for a while (a restore batch, a test fixture), allocates
// every later one straight into the old generation; short-lived entities then
// cost full GCs and made the parser stage ~25% slower. Constructors are never
// pretenured. One constructor per shape keeps V8's shapes monomorphic.

function plain<A extends unknown[]>(init: (this: Loose, ...args: A) => void): new (...args: A) => Loose {
  init.prototype = Object.prototype;
  return init as unknown as new (...args: A) => Loose;
}

const PartitionOut = plain(function (this: Loose, projectId: string, databaseId: string, namespaceId: string) {
  this.projectId = projectId;
  this.databaseId = databaseId;
  this.namespaceId = namespaceId;
});
const IdElementOut = plain(function (this: Loose, kind: string, id: string) {
  this.kind = kind;
  this.id = id;
  this.idType = 'id';
});
const NameElementOut = plain(function (this: Loose, kind: string, name: string) {
  this.kind = kind;
  this.name = name;
  this.idType = 'name';
});
const KeyOut = plain(function (this: Loose, path: Loose[], partitionId: Loose) {
  this.path = path;
  this.partitionId = partitionId;
});
const EntityOut = plain(function (this: Loose, properties: Loose, key: Loose) {
  this.properties = properties;
  this.key = key;
});
const GeoOut = plain(function (this: Loose, latitude: number, longitude: number) {
  this.latitude = latitude;
  this.longitude = longitude;
});
const ArrayOut = plain(function (this: Loose, values: Loose[]) {
  this.values = values;
});
const TimestampOut = plain(function (this: Loose, seconds: string, nanos: number) {
  this.seconds = seconds;
  this.nanos = nanos;
});
// Values: the field order matches proto-loader's output.
const StringValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: string) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.stringValue = v;
  this.valueType = 'stringValue';
});
const IntegerValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: string) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.integerValue = v;
  this.valueType = 'integerValue';
});
const DoubleValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: number) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.doubleValue = v;
  this.valueType = 'doubleValue';
});
const BooleanValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: boolean) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.booleanValue = v;
  this.valueType = 'booleanValue';
});
const TimestampValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: Loose) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.timestampValue = v;
  this.valueType = 'timestampValue';
});
const NullValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.nullValue = 'NULL_VALUE';
  this.valueType = 'nullValue';
});
const BlobValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: Buffer) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.blobValue = v;
  this.valueType = 'blobValue';
});
const KeyValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: Loose) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.keyValue = v;
  this.valueType = 'keyValue';
});
const GeoValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: Loose) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.geoPointValue = v;
  this.valueType = 'geoPointValue';
});
const EntityValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: Loose) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.entityValue = v;
  this.valueType = 'entityValue';
});
const ArrayValueOut = plain(function (this: Loose, meaning: number, excludeFromIndexes: boolean, v: Loose) {
  this.meaning = meaning;
  this.excludeFromIndexes = excludeFromIndexes;
  this.arrayValue = v;
  this.valueType = 'arrayValue';
});

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function stringIn(x: unknown, what: string): string {
  if (typeof x !== 'string') throw new Fault(`${what} must be a string, not ${shape(x)}`);
  if (!isWellFormed(x)) checkString(x, what);
  return x;
}

function doubleOut(x: unknown, what: string): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  throw new Fault(`${what} must be a JSON number or "NaN", "Infinity", "-Infinity", not ${shape(x)}`);
}

function partitionOut(p: unknown): Loose {
  if (!isObject(p)) throw new Fault(`partitionId must be an object, not ${shape(p)}`);
  let projectId = '';
  let databaseId = '';
  let namespaceId = '';
  for (const f in p) {
    const x = p[f];
    if (f === 'projectId') projectId = stringIn(x, 'projectId');
    else if (f === 'databaseId') databaseId = stringIn(x, 'databaseId');
    else if (f === 'namespaceId') namespaceId = stringIn(x, 'namespaceId');
    else throw new Fault(`unknown partitionId field ${JSON.stringify(f)}`);
  }
  return new PartitionOut(projectId, databaseId, namespaceId);
}

function pathElementOut(e: unknown, last: boolean, allowIncomplete: boolean): Loose {
  if (!isObject(e)) throw new Fault(`path element must be an object, not ${shape(e)}`);
  let kind: string | undefined;
  let id: string | undefined;
  let name: string | undefined;
  for (const f in e) {
    const x = e[f];
    if (f === 'kind') kind = stringIn(x, 'kind');
    else if (f === 'id') {
      if (typeof x !== 'string' || !isIdString(x)) {
        throw new Fault(
          `id ${JSON.stringify(x)} is invalid: ids are decimal strings 1..9223372036854775807`,
          typeof x === 'number' ? 'write ids as strings, e.g. "id":"123"' : undefined,
        );
      }
      id = x;
    } else if (f === 'name') {
      name = stringIn(x, 'name');
      if (name === '') throw new Fault('path element name must not be empty');
    } else throw new Fault(`unknown path element field ${JSON.stringify(f)}`);
  }
  if (kind === undefined || kind === '') throw new Fault('path element needs a non-empty kind');
  if (id !== undefined) {
    if (name !== undefined) throw new Fault('path element has both an id and a name');
    return new IdElementOut(kind, id);
  }
  if (name !== undefined) return new NameElementOut(kind, name);
  if (!(last && allowIncomplete)) throw new Fault(`path element of kind ${JSON.stringify(kind)} has neither id nor name (incomplete key)`);
  return { kind };
}

function keyOut(k: unknown, allowIncomplete: boolean): Loose {
  if (!isObject(k)) throw new Fault(`key must be an object, not ${shape(k)}`);
  let partitionId: Loose = null;
  let path: unknown;
  for (const f in k) {
    if (f === 'partitionId') {
      try {
        partitionId = partitionOut(k[f]);
      } catch (err) {
        throw withSeg(err, 'partitionId');
      }
    } else if (f === 'path') path = k[f];
    else throw new Fault(`unknown key field ${JSON.stringify(f)}`);
  }
  if (!Array.isArray(path) || path.length === 0) throw new Fault('key path is empty');
  const n = path.length;
  if (n > MAX_KEY_PATH) throw new Fault(`key path has ${n} elements, more than ${MAX_KEY_PATH}`);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    try {
      out[i] = pathElementOut(path[i], i === n - 1, allowIncomplete);
    } catch (err) {
      throw withSeg(withSeg(err, '[' + i + ']'), 'path');
    }
  }
  return new KeyOut(out, partitionId);
}

function integerOut(x: unknown): string {
  if (typeof x === 'string' && isInt64String(x)) return x;
  if (typeof x === 'string' && /^-?[1-9][0-9]*$/.test(x)) {
    throw new Fault(`integerValue ${x} is out of the int64 range -9223372036854775808..9223372036854775807`);
  }
  throw new Fault(
    `integerValue must be a decimal string like "42", not ${typeof x === 'number' ? 'the number ' + String(x) : shape(x)}`,
    typeof x === 'number' ? 'int64 values are written as strings so that no precision is lost' : undefined,
  );
}

function blobOut(x: unknown): Buffer {
  if (typeof x !== 'string') throw new Fault(`blobValue must be a base64 string, not ${shape(x)}`);
  const buf = base64Bytes(x);
  if (buf === null) throw new Fault('blobValue is not valid standard base64', 'use standard base64 with padding (A-Z a-z 0-9 + /, =)');
  return buf;
}

function geoOut(x: unknown): Loose {
  if (!isObject(x)) throw new Fault(`geoPointValue must be {latitude, longitude}, not ${shape(x)}`);
  let latitude = 0;
  let longitude = 0;
  for (const f in x) {
    if (f === 'latitude') latitude = doubleOut(x[f], 'latitude');
    else if (f === 'longitude') longitude = doubleOut(x[f], 'longitude');
    else throw new Fault(`unknown geoPointValue field ${JSON.stringify(f)}`);
  }
  return new GeoOut(latitude, longitude);
}

function entityValueOut(x: unknown, depth: number): Loose {
  if (!isObject(x)) throw new Fault(`entityValue must be an object, not ${shape(x)}`);
  if (depth >= MAX_ENTITY_DEPTH) throw new Fault(`entity values are nested deeper than ${MAX_ENTITY_DEPTH} levels`);
  let key: Loose = null;
  let properties: Loose = {};
  for (const f in x) {
    if (f === 'properties') properties = propertiesOut(x[f], depth + 1);
    else if (f === 'key') {
      try {
        key = keyOut(x[f], true);
      } catch (err) {
        throw withSeg(err, '__key__');
      }
    } else throw new Fault(`unknown entityValue field ${JSON.stringify(f)}`);
  }
  return new EntityOut(properties, key);
}

function arrayOut(x: unknown, depth: number): Loose {
  if (!isObject(x)) throw new Fault(`arrayValue must be {values: [...]}, not ${shape(x)}`);
  let values: Loose[] = [];
  for (const f in x) {
    if (f !== 'values') throw new Fault(`unknown arrayValue field ${JSON.stringify(f)}`);
    const a = x[f];
    if (!Array.isArray(a)) throw new Fault(`arrayValue.values must be an array, not ${shape(a)}`);
    const n = a.length;
    values = new Array(n);
    for (let i = 0; i < n; i++) {
      try {
        values[i] = valueOut(a[i], depth);
      } catch (err) {
        throw withSeg(err, '[' + i + ']');
      }
    }
  }
  return new ArrayOut(values);
}

function valueOut(o: unknown, depth: number): Loose {
  if (!isObject(o)) throw new Fault(`value must be an object like {"stringValue": "..."}, not ${shape(o)}`);
  let type: string | undefined;
  let payload: unknown;
  let meaning = 0;
  let excludeFromIndexes = false;
  for (const f in o) {
    switch (f) {
      case 'meaning': {
        const m = o[f];
        if (typeof m !== 'number' || !Number.isInteger(m) || m < -2147483648 || m > 2147483647) {
          throw new Fault(`meaning must be an int32, not ${shape(m)}`);
        }
        meaning = m;
        break;
      }
      case 'excludeFromIndexes': {
        const b = o[f];
        if (typeof b !== 'boolean') throw new Fault(`excludeFromIndexes must be a boolean, not ${shape(b)}`);
        excludeFromIndexes = b;
        break;
      }
      case 'nullValue':
      case 'booleanValue':
      case 'integerValue':
      case 'doubleValue':
      case 'timestampValue':
      case 'keyValue':
      case 'stringValue':
      case 'blobValue':
      case 'geoPointValue':
      case 'entityValue':
      case 'arrayValue':
        if (type !== undefined) throw new Fault(`value has two value types: ${type} and ${f}`);
        type = f;
        payload = o[f];
        break;
      default:
        throw new Fault(
          f.endsWith('Value') ? `unknown value type ${JSON.stringify(f)}` : `unknown field ${JSON.stringify(f)} in a value`,
          'a value holds exactly one of ' + VALUE_FIELDS.join(', ') + ', plus optional meaning and excludeFromIndexes',
        );
    }
  }
  switch (type) {
    case 'stringValue':
      return new StringValueOut(meaning, excludeFromIndexes, stringIn(payload, 'stringValue'));
    case 'integerValue':
      return new IntegerValueOut(meaning, excludeFromIndexes, integerOut(payload));
    case 'doubleValue':
      return new DoubleValueOut(meaning, excludeFromIndexes, doubleOut(payload, 'doubleValue'));
    case 'booleanValue':
      if (typeof payload !== 'boolean') throw new Fault(`booleanValue must be true or false, not ${shape(payload)}`);
      return new BooleanValueOut(meaning, excludeFromIndexes, payload);
    case 'timestampValue': {
      if (typeof payload !== 'string') throw new Fault(`timestampValue must be an RFC 3339 string, not ${shape(payload)}`);
      const t = parseTimestamp(payload);
      if (typeof t === 'string') throw new Fault(t);
      return new TimestampValueOut(meaning, excludeFromIndexes, new TimestampOut(String(t.seconds), t.nanos));
    }
    case 'nullValue':
      if (payload !== null && payload !== 'NULL_VALUE') throw new Fault(`nullValue must be null, not ${shape(payload)}`);
      return new NullValueOut(meaning, excludeFromIndexes);
    case 'blobValue':
      return new BlobValueOut(meaning, excludeFromIndexes, blobOut(payload));
    case 'keyValue': {
      let keyValue: Loose;
      try {
        keyValue = keyOut(payload, true);
      } catch (err) {
        throw withSeg(err, '__key__');
      }
      return new KeyValueOut(meaning, excludeFromIndexes, keyValue);
    }
    case 'geoPointValue':
      return new GeoValueOut(meaning, excludeFromIndexes, geoOut(payload));
    case 'entityValue':
      return new EntityValueOut(meaning, excludeFromIndexes, entityValueOut(payload, depth));
    case 'arrayValue':
      return new ArrayValueOut(meaning, excludeFromIndexes, arrayOut(payload, depth));
    default:
      throw new Fault('value has no value type', 'a value holds exactly one of ' + VALUE_FIELDS.join(', '));
  }
}

function propertiesOut(p: unknown, depth: number): Loose {
  if (!isObject(p)) throw new Fault(`properties must be an object, not ${shape(p)}`);
  const out: Loose = {};
  for (const name in p) {
    try {
      if (name === '') throw new Fault('property name must not be empty');
      if (!isWellFormed(name)) checkString(name, 'property name');
      const v = valueOut(p[name], depth);
      // JSON.parse makes "__proto__" an own key; plain assignment would not.
      if (name === '__proto__') Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
      else out[name] = v;
    } catch (err) {
      throw withSeg(err, nameSeg(name));
    }
  }
  return out;
}

/** The entity of an already JSON.parse'd line. */
export function decodeEntityObject(obj: unknown, where?: LineLocation): IEntity {
  try {
    if (!isObject(obj)) throw new Fault(`a line must hold a JSON object, not ${shape(obj)}`);
    let key: Loose;
    let properties: Loose = {};
    for (const f in obj) {
      if (f === 'key') {
        try {
          key = keyOut(obj[f], false);
        } catch (err) {
          throw withSeg(err, '__key__');
        }
      } else if (f === 'properties') properties = propertiesOut(obj[f], 0);
      else throw new Fault(`unknown top-level field ${JSON.stringify(f)}`, 'a line is {"key": ..., "properties": {...}}');
    }
    if (key === undefined) throw new Fault('entity has no key', 'a line is {"key": ..., "properties": {...}}');
    return new EntityOut(properties, key) as IEntity;
  } catch (err) {
    throw lineError(err, where);
  }
}

/**
 * What JSON.parse disliked, without the input it quotes (V8 says `Unexpected
 * token 'r', "root:x:0:0:"... is not valid JSON`): a file that is not a dump
 * may hold anything, and an error message must not print it.
 */
function jsonProblem(err: Error): string {
  const message = err.message;
  if (/Unexpected end of JSON input|Unterminated string/.test(message)) return 'the line ends in the middle of a value';
  const at = /position (\d+)/.exec(message);
  if (at) return `unexpected character at byte ${Number(at[1]) + 1} of the line`;
  if (/Unexpected (token|non-whitespace)/.test(message)) return 'unexpected character (not a JSON object per line)';
  return 'the line is not valid JSON';
}

/** One line (without or with its trailing newline) -> the entity. */
export function decodeEntity(line: string, where?: LineLocation): IEntity {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw lineError(new Fault(`invalid JSON: ${jsonProblem(err as Error)}`), where);
  }
  return decodeEntityObject(obj, where);
}

/** A REST JSON key -> proto key. `path` prefixes error paths. Incomplete keys are accepted. */
export function decodeKey(obj: unknown, path?: string): IKey {
  try {
    return keyOut(obj, true) as IKey;
  } catch (err) {
    throw lineError(err, undefined, path);
  }
}

/** A REST JSON value -> proto value. `path` names it in errors. */
export function decodeValue(obj: unknown, path: string): IValue {
  try {
    return valueOut(obj, 0) as IValue;
  } catch (err) {
    throw lineError(err, undefined, path);
  }
}
