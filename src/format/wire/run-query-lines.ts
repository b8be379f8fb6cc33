/**
 * RunQueryResponse bytes -> dump lines, without building entity objects: the
 * protobuf wire format of RunQueryResponse → QueryResultBatch → EntityResult
 * → Entity is walked once and each entity written as its canonical line,
 * byte for byte what `encodeEntity` writes for the object the client library
 * would have decoded (test/format/wire/differential.test.ts checks that).
 *
 * The same rules as entity-codec.ts: property names in UTF-8 byte order,
 * values as `{"<type>Value":…,"meaning"?,"excludeFromIndexes"?}`, keys with
 * their full partition, int64 in decimal, doubles shortest-round-trip with
 * `-0`/"NaN"/"Infinity", timestamps RFC 3339 with µs, blobs standard base64.
 * What the object path refuses (an empty value, an id of 0, an incomplete
 * entity key, nesting over the limit) is refused here with the same words.
 *
 * Protobuf's own rules where the object path has none: unknown fields are
 * skipped; of two oneof members (or a map key sent twice) the last one on the
 * wire wins. Field numbers are google/datastore/v1/{datastore,query,entity}.proto's.
 */
import { DspipeError } from '../../errors.js';
import { compareUtf8 } from '../../model/key-order.js';
import { MAX_ENTITY_DEPTH, MAX_KEY_PATH, MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from '../../model/limits.js';
import { civilDate } from '../timestamp.js';
import { LineBuffer, lit } from './line-buffer.js';
import { FIXED64, LEN, VARINT, WireCursor, WireFault } from './wire-cursor.js';

export const MORE_RESULTS_NAMES = ['MORE_RESULTS_TYPE_UNSPECIFIED', 'NOT_FINISHED', 'MORE_RESULTS_AFTER_LIMIT', 'NO_MORE_RESULTS', 'MORE_RESULTS_AFTER_CURSOR'];

export interface LinesPage {
  /** The page's entities as dump lines, each ended by '\n'. */
  lines: Buffer;
  /** Lines in `lines`. */
  count: number;
  /** Entity results left out because their key is in another database than `databaseId`. */
  foreign: number;
  /** Cursor after the last result, when the batch has one. */
  endCursor: Buffer | undefined;
  /** The batch's more_results, by name (as the client library reports it). */
  moreResults: string;
  /** Results the query skipped (its offset). */
  skippedResults: number;
  readTime: { seconds: string; nanos: number } | undefined;
}

export interface LinesOptions {
  /**
   * Keep only entities whose key is in this database: Google's legacy
   * emulator answers a query in a named database with the entities of every
   * database of the project (see stages/entity-reader.ts); production never does.
   */
  databaseId?: string;
}

/** A value the object path would refuse too (not malformed wire data): the encoder's words. */
class Refusal {
  readonly path: string[] = [];
  constructor(
    readonly message: string,
    readonly hint?: string,
  ) {}
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const seg = (name: string) => (IDENT_RE.test(name) ? name : '[' + JSON.stringify(name) + ']');

function withSeg(err: unknown, s: string): unknown {
  if (err instanceof WireFault || err instanceof Refusal) err.path.push(s);
  return err;
}

function pathText(segs: readonly string[]): string | undefined {
  let path = '';
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i]!;
    path += s.charCodeAt(0) === 91 || path === '' ? s : '.' + s;
  }
  return path === '' ? undefined : path;
}

const T_KEY = lit('{"key":');
const T_PROPS = lit(',"properties":');
const T_PROPS_FIRST = lit('"properties":');
const T_PARTITION = lit('{"partitionId":{"projectId":');
const T_DATABASE = lit(',"databaseId":');
const T_NAMESPACE = lit(',"namespaceId":');
const T_PATH = lit('},"path":[');
const T_KIND = lit('{"kind":');
const T_ID = lit(',"id":"');
const T_NAME = lit(',"name":');
const T_EMPTY_STR = lit('""');
const T_END_PATH = lit(']}');
const T_BOOL_TRUE = lit('{"booleanValue":true');
const T_BOOL_FALSE = lit('{"booleanValue":false');
const T_INT = lit('{"integerValue":"');
const T_DOUBLE = lit('{"doubleValue":');
const T_TS = lit('{"timestampValue":"');
const T_KEYV = lit('{"keyValue":');
const T_STRING = lit('{"stringValue":');
const T_BLOB = lit('{"blobValue":"');
const T_GEO = lit('{"geoPointValue":{"latitude":');
const T_LNG = lit(',"longitude":');
const T_ENTITY = lit('{"entityValue":{');
const T_ARRAY_EMPTY = lit('{"arrayValue":{}');
const T_ARRAY = lit('{"arrayValue":{"values":[');
const T_NULL = lit('{"nullValue":null');
const T_MEANING = lit(',"meaning":');
const T_EXCLUDE = lit(',"excludeFromIndexes":true');
const T_EMPTY_OBJ = lit('{}');

function doubleText(d: number): string {
  if (d - d === 0) return d === 0 && 1 / d < 0 ? '-0' : String(d);
  return d !== d ? '"NaN"' : d > 0 ? '"Infinity"' : '"-Infinity"';
}

const TWO_53 = 2 ** 53;
const T_KEY_NESTED = lit('"key":');
const T_NO_PARTITION = lit('{"partitionId":{"projectId":"","databaseId":"","namespaceId":""},"path":[');

/** Whether a holds exactly the bytes buf[start, end). */
function sameBytes(a: Buffer, buf: Buffer, start: number, end: number): boolean {
  const n = a.length;
  if (n !== end - start) return false;
  for (let k = 0; k < n; k++) if (a[k] !== buf[start + k]) return false;
  return true;
}

/**
 * JSON text of a few wire byte strings that repeat from entity to entity (a
 * key's partition, a path element's kind), found by comparing the bytes:
 * a handful of entries, replaced in turn.
 */
class TextCache {
  private readonly bytes: Buffer[] = [];
  private readonly texts: Buffer[] = [];
  private readonly extras: string[] = [];
  private next = 0;
  /** The extra string of the last hit. */
  extra = '';

  constructor(private readonly size: number) {}

  find(buf: Buffer, start: number, end: number): Buffer | undefined {
    const bytes = this.bytes;
    for (let i = 0; i < bytes.length; i++) {
      if (sameBytes(bytes[i]!, buf, start, end)) {
        this.extra = this.extras[i]!;
        return this.texts[i];
      }
    }
    return undefined;
  }

  add(buf: Buffer, start: number, end: number, text: Buffer, extra = ''): void {
    if (end - start > 1024) return;
    const i = this.next;
    this.next = (i + 1) % this.size;
    this.bytes[i] = Buffer.from(buf.subarray(start, end));
    this.texts[i] = text;
    this.extras[i] = extra;
  }
}

/**
 * One property name as last seen at a position of an entity: entities of a
 * kind repeat their names in the same order, so the name bytes are compared
 * with it before any string is made, and its JSON text and whether it sorts
 * after the name before it (`prev`) are kept.
 */
interface NameSlot {
  bytes: Buffer;
  name: string;
  first: Buffer;
  next: Buffer;
  /** The slot this one was last compared with (the name before it), and whether this name sorts after it. */
  prev: NameSlot | undefined;
  after: boolean;
}

/** Scratch of the entity being written at one nesting depth, reused from entity to entity. */
class Depth {
  /** [start, end) pairs of the properties entries. */
  entries: number[] = [];
  /** The name slots last seen at each position (those of the entity being written, once its name is read). */
  slots: NameSlot[] = [];
  starts: number[] = [];
  ends: number[] = [];
  /** The order reorder() last wrote `orderN` properties in, while the slots have not changed since. */
  order: number[] = [];
  orderN = -1;
}

class Transcoder {
  readonly r: WireCursor;
  readonly out: LineBuffer;
  private readonly c: TranscoderCaches;

  constructor(buf: Buffer, out: LineBuffer, caches: TranscoderCaches) {
    this.r = new WireCursor(buf);
    this.out = out;
    this.c = caches;
  }

  /** A key message [pos, end) as JSON; returns the key's database id. */
  key(end: number, allowIncomplete: boolean): string {
    const r = this.r;
    const out = this.out;
    const buf = r.buf;
    let pStart = -1;
    let pEnd = -1;
    const elements = this.c.elements; // [start, end) pairs of path elements
    let n = 0;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 || field === 2) {
        if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'Key');
        const e = r.len(end);
        if (field === 1) {
          pStart = r.pos;
          pEnd = e;
        } else {
          if (n < MAX_KEY_PATH) (elements[2 * n] = r.pos), (elements[2 * n + 1] = e);
          n++;
        }
        r.pos = e;
      } else r.skip(wire, end);
    }
    const after = r.pos;
    let database = '';
    if (pStart < 0) out.put(T_NO_PARTITION);
    else {
      const partitions = this.c.partitions;
      const text = partitions.find(buf, pStart, pEnd);
      if (text !== undefined) {
        out.put(text);
        database = partitions.extra;
      } else {
        const at = out.pos;
        database = this.partition(pStart, pEnd);
        partitions.add(buf, pStart, pEnd, Buffer.from(out.buf.subarray(at, out.pos)), database);
      }
    }
    if (n === 0) throw new Refusal('key path is empty');
    if (n > MAX_KEY_PATH) throw new Refusal(`key path has ${n} elements, more than ${MAX_KEY_PATH}`);
    for (let i = 0; i < n; i++) {
      if (i > 0) out.byte(0x2c);
      try {
        this.pathElement(elements[2 * i]!, elements[2 * i + 1]!, i === n - 1 && allowIncomplete);
      } catch (err) {
        throw withSeg(withSeg(err, '[' + i + ']'), 'path');
      }
    }
    out.put(T_END_PATH);
    r.pos = after;
    return database;
  }

  /** A PartitionId [start, end) as `{"partitionId":{…},"path":[`; returns its database id. */
  private partition(start: number, end: number): string {
    const r = this.r;
    r.pos = start;
    // project 2, database 3, namespace 4 (last one wins)
    let proj = -1, projEnd = -1, db = -1, dbEnd = -1, ns = -1, nsEnd = -1;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field >= 2 && field <= 4) {
        if (wire !== LEN) throw withSeg(r.wrongType(field, wire, LEN, 'PartitionId'), 'partitionId');
        const e = r.len(end);
        if (field === 2) (proj = r.pos), (projEnd = e);
        else if (field === 3) (db = r.pos), (dbEnd = e);
        else (ns = r.pos), (nsEnd = e);
        r.pos = e;
      } else r.skip(wire, end);
    }
    const buf = r.buf;
    const out = this.out;
    out.put(T_PARTITION);
    if (proj >= 0) out.jsonString(buf, proj, projEnd);
    else out.put(T_EMPTY_STR);
    out.put(T_DATABASE);
    if (db >= 0) out.jsonString(buf, db, dbEnd);
    else out.put(T_EMPTY_STR);
    out.put(T_NAMESPACE);
    if (ns >= 0) out.jsonString(buf, ns, nsEnd);
    else out.put(T_EMPTY_STR);
    out.put(T_PATH);
    return db >= 0 ? buf.toString('utf8', db, dbEnd) : '';
  }

  private pathElement(start: number, end: number, incompleteOk: boolean): void {
    const r = this.r;
    r.pos = start;
    let kind = -1, kindEnd = -1;
    let id = -1; // where the id's varint starts
    let name = -1, nameEnd = -1;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 || field === 3) {
        if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'PathElement');
        const e = r.len(end);
        if (field === 1) (kind = r.pos), (kindEnd = e);
        else {
          (name = r.pos), (nameEnd = e);
          id = -1;
        }
        r.pos = e;
      } else if (field === 2) {
        if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'PathElement');
        id = r.pos;
        r.uint(end);
        name = -1;
      } else r.skip(wire, end);
    }
    if (kind < 0 || kind === kindEnd) throw new Refusal('path element needs a non-empty kind');
    const out = this.out;
    const buf = r.buf;
    const kinds = this.c.kinds;
    const kindText = kinds.find(buf, kind, kindEnd);
    if (kindText !== undefined) out.put(kindText);
    else {
      const at = out.pos;
      out.put(T_KIND);
      out.jsonString(buf, kind, kindEnd);
      kinds.add(buf, kind, kindEnd, Buffer.from(out.buf.subarray(at, out.pos)));
    }
    if (id >= 0) {
      r.pos = id;
      const v = r.uint(end);
      if (r.pos - id < 8 && v !== 0) {
        // under 2^49: exact, and positive
        out.put(T_ID);
        out.digits(v);
      } else {
        r.pos = id;
        const text = r.int64(end);
        if (text === '0' || text.charCodeAt(0) === 45) throw new Refusal(`id ${text} is invalid: ids are 1..9223372036854775807`);
        out.put(T_ID);
        out.ascii(text);
      }
      out.byte(0x22);
    } else if (name >= 0) {
      if (name === nameEnd) throw new Refusal('path element name must not be empty');
      out.put(T_NAME);
      out.jsonString(buf, name, nameEnd);
    } else if (!incompleteOk) {
      throw new Refusal(`path element of kind ${JSON.stringify(buf.toString('utf8', kind, kindEnd))} has neither id nor name (incomplete key)`);
    }
    out.byte(0x7d);
    r.pos = end;
  }

  /**
   * The properties of an entity (d.entries, n of them) as `{"name":value,…}`
   * in UTF-8 name order. Written in wire order first; when that is not sorted
   * (or a name repeats) the written values are put in order afterwards.
   */
  private properties(d: Depth, n: number, depth: number): void {
    const out = this.out;
    if (n === 0) {
      out.put(T_EMPTY_OBJ);
      return;
    }
    const r = this.r;
    const buf = r.buf;
    const entries = d.entries;
    const slots = d.slots;
    const starts = d.starts;
    const ends = d.ends;
    let sorted = true;
    let changed = false;
    const begin = out.pos;
    out.byte(0x7b);
    for (let i = 0; i < n; i++) {
      const end = entries[2 * i + 1]!;
      r.pos = entries[2 * i]!;
      let nameStart = -1, nameEnd = -1, vStart = -1, vEnd = -1;
      while (r.pos < end) {
        const tag = r.uint(end);
        const field = tag >>> 3;
        const wire = tag & 7;
        if (field === 1 || field === 2) {
          if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'properties entry');
          const e = r.len(end);
          if (field === 1) (nameStart = r.pos), (nameEnd = e);
          else (vStart = r.pos), (vEnd = e);
          r.pos = e;
        } else r.skip(wire, end);
      }
      if (nameStart === nameEnd) throw withSeg(new Refusal('property name must not be empty'), seg(''));
      let slot = slots[i];
      if (slot === undefined || !sameBytes(slot.bytes, buf, nameStart, nameEnd)) {
        const name = buf.toString('utf8', nameStart, nameEnd);
        const q = JSON.stringify(name);
        slot = { bytes: Buffer.from(buf.subarray(nameStart, nameEnd)), name, first: lit(q + ':'), next: lit(',' + q + ':'), prev: undefined, after: false };
        slots[i] = slot;
        changed = true;
      }
      if (i > 0) {
        const prev = slots[i - 1]!;
        if (slot.prev !== prev) {
          slot.prev = prev;
          slot.after = compareUtf8(prev.name, slot.name) < 0;
        }
        if (!slot.after) sorted = false;
      }
      try {
        if (vStart < 0) throw new Refusal('value must be an object, not null');
        out.put(i === 0 ? slot.first : slot.next);
        starts[i] = out.pos;
        r.pos = vStart;
        this.value(vEnd, depth);
        ends[i] = out.pos;
      } catch (err) {
        throw withSeg(err, seg(slot.name));
      }
    }
    if (changed) d.orderN = -1;
    if (!sorted) this.reorder(d, n, begin);
    out.byte(0x7d);
  }

  /** Rewrites the n properties written since `begin` in name order, the last of equal names kept. */
  private reorder(d: Depth, n: number, begin: number): void {
    const out = this.out;
    const cur = d.slots;
    let order = d.order;
    if (d.orderN !== n) {
      const all: number[] = [];
      for (let i = 0; i < n; i++) all.push(i);
      all.sort((a, b) => compareUtf8(cur[a]!.name, cur[b]!.name) || a - b);
      order = [];
      for (let k = 0; k < n; k++) {
        const next = all[k + 1];
        if (next !== undefined && cur[next]!.name === cur[all[k]!]!.name) continue; // a later copy of the name wins
        order.push(all[k]!);
      }
      d.order = order;
      d.orderN = n;
    }
    const size = out.pos - begin;
    let tmp = this.c.tmp;
    if (tmp.length < size) tmp = this.c.tmp = Buffer.allocUnsafe(Math.max(size, 2 * tmp.length));
    out.buf.copy(tmp, 0, begin, out.pos);
    out.pos = begin;
    out.byte(0x7b);
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const slot = cur[i]!;
      out.put(k === 0 ? slot.first : slot.next);
      out.put(tmp.subarray(d.starts[i]! - begin, d.ends[i]! - begin));
    }
  }

  /** An Entity message [pos, end): `{"key":…,"properties":…}` (key required at the top). */
  entity(end: number, depth: number, top: boolean, wantDatabase?: string): boolean {
    const r = this.r;
    const out = this.out;
    let kStart = -1, kEnd = -1;
    const d = (this.c.depths[depth] ??= new Depth());
    const entries = d.entries;
    let n = 0;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 || field === 3) {
        if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'Entity');
        const e = r.len(end);
        if (field === 1) (kStart = r.pos), (kEnd = e);
        else {
          entries[2 * n] = r.pos;
          entries[2 * n + 1] = e;
          n++;
        }
        r.pos = e;
      } else r.skip(wire, end);
    }
    if (top) {
      if (kStart < 0) throw new Refusal('entity has no key');
      out.put(T_KEY);
      r.pos = kStart;
      let database: string;
      try {
        database = this.key(kEnd, false);
      } catch (err) {
        throw withSeg(err, '__key__');
      }
      if (wantDatabase !== undefined && database !== wantDatabase) return false;
      out.put(T_PROPS);
    } else {
      if (kStart >= 0) {
        out.put(T_KEY_NESTED);
        r.pos = kStart;
        try {
          this.key(kEnd, true);
        } catch (err) {
          throw withSeg(err, '__key__');
        }
        out.byte(0x2c);
      }
      out.put(T_PROPS_FIRST);
    }
    this.properties(d, n, depth);
    out.byte(0x7d);
    r.pos = end;
    return true;
  }

  /** A Value message [pos, end). */
  value(end: number, depth: number): void {
    const r = this.r;
    const out = this.out;
    let type = 0;
    let at = 0; // where the value's payload starts
    let atEnd = 0;
    let meaning = 0;
    let exclude = false;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      switch (field) {
        case 1: case 2: case 11:
          if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'Value');
          type = field;
          at = r.pos;
          r.uint(end);
          break;
        case 3:
          if (wire !== FIXED64) throw r.wrongType(field, wire, FIXED64, 'Value');
          type = field;
          at = r.pos;
          r.double(end);
          break;
        case 5: case 6: case 8: case 9: case 10: case 17: case 18: {
          if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'Value');
          const e = r.len(end);
          type = field;
          at = r.pos;
          atEnd = e;
          r.pos = e;
          break;
        }
        case 14:
          if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'Value');
          meaning = r.int32(end);
          break;
        case 19:
          if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'Value');
          exclude = r.uint(end) !== 0;
          break;
        default:
          r.skip(wire, end);
      }
    }
    const buf = r.buf;
    switch (type) {
      case 17:
        out.put(T_STRING);
        out.jsonString(buf, at, atEnd);
        break;
      case 2:
        r.pos = at;
        out.put(T_INT);
        this.int64(end);
        out.byte(0x22);
        break;
      case 3: {
        r.pos = at;
        out.put(T_DOUBLE);
        const v = r.double(end);
        // whole numbers up to 2^53 are their digits (what String() writes), the rest String()'s shortest form
        if (v >= 1 && v <= TWO_53 && Math.floor(v) === v) out.digits(v);
        else if (v <= -1 && v >= -TWO_53 && Math.floor(v) === v) {
          out.byte(0x2d);
          out.digits(-v);
        } else out.ascii(doubleText(v));
        break;
      }
      case 1:
        r.pos = at;
        out.put(r.uint(end) !== 0 ? T_BOOL_TRUE : T_BOOL_FALSE);
        break;
      case 10:
        r.pos = at;
        this.timestamp(atEnd);
        break;
      case 11: {
        r.pos = at;
        const v = r.uint(end);
        if (v !== 0) throw new Refusal(`nullValue must be NULL_VALUE, not the number ${v}`);
        out.put(T_NULL);
        break;
      }
      case 18:
        out.put(T_BLOB);
        out.base64(buf, at, atEnd);
        out.byte(0x22);
        break;
      case 5:
        out.put(T_KEYV);
        r.pos = at;
        try {
          this.key(atEnd, true);
        } catch (err) {
          throw withSeg(err, '__key__');
        }
        break;
      case 8:
        r.pos = at;
        this.geo(atEnd);
        break;
      case 6:
        if (depth >= MAX_ENTITY_DEPTH) throw new Refusal(`entity values are nested deeper than ${MAX_ENTITY_DEPTH} levels`);
        out.put(T_ENTITY);
        r.pos = at;
        this.entity(atEnd, depth + 1, false);
        break;
      case 9:
        r.pos = at;
        this.array(atEnd, depth);
        break;
      default:
        throw new Refusal('value sets no value type', 'the entity holds a value of no type Datastore knows');
    }
    if (meaning !== 0) {
      out.put(T_MEANING);
      if (meaning > 0) out.digits(meaning);
      else out.ascii(String(meaning));
    }
    if (exclude) out.put(T_EXCLUDE);
    out.byte(0x7d);
    r.pos = end;
  }

  /** An int64 varint in decimal: below 2^53 in magnitude as digits, beyond that through BigInt. */
  private int64(end: number): void {
    const r = this.r;
    const out = this.out;
    const start = r.pos;
    const v = r.uint(end);
    if (r.pos - start < 8) {
      out.digits(v); // under 2^49: exact
      return;
    }
    // 8..10 bytes: the low and high 32 bits, exactly
    const buf = r.buf;
    let lo = 0;
    let hi = 0;
    for (let p = start, shift = 0; p < r.pos; p++, shift += 7) {
      const b = buf[p]! & 0x7f;
      if (shift < 28) lo |= b << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= b >>> 4;
      } else hi |= b << (shift - 32);
    }
    lo >>>= 0;
    hi >>>= 0;
    if (hi >= 0x80000000) {
      // negative: two's complement
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
      const m = hi * 4294967296 + lo;
      if (m <= TWO_53 && hi < 0x200000) {
        out.byte(0x2d);
        out.digits(m);
        return;
      }
    } else if (hi < 0x200000) {
      out.digits(hi * 4294967296 + lo);
      return;
    }
    r.pos = start;
    out.ascii(r.int64(end));
  }

  private timestamp(end: number): void {
    const r = this.r;
    let seconds = 0;
    let secondsText = '0';
    let nanos = 0;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 || field === 2) {
        if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'Timestamp');
        if (field === 1) {
          secondsText = r.int64(end);
          seconds = Number(secondsText);
        } else nanos = r.int32(end);
      } else r.skip(wire, end);
    }
    if (!(seconds >= MIN_TIMESTAMP_SECONDS && seconds <= MAX_TIMESTAMP_SECONDS)) {
      throw new Refusal(`timestampValue.seconds ${secondsText} is outside 0001-01-01..9999-12-31`);
    }
    if (nanos < 0 || nanos > 999999999) throw new Refusal(`timestampValue.nanos ${nanos} must be an integer 0..999999999`);
    const out = this.out;
    out.put(T_TS);
    // formatTimestamp's text, written as bytes
    const days = Math.floor(seconds / 86400);
    const ymd = civilDate(days);
    const year = Math.floor(ymd / 10000);
    const md = ymd - year * 10000;
    const month = Math.floor(md / 100);
    out.twoDigits(Math.floor(year / 100));
    out.twoDigits(year % 100);
    out.byte(0x2d);
    out.twoDigits(month);
    out.byte(0x2d);
    out.twoDigits(md - month * 100);
    out.byte(0x54);
    let sod = seconds - days * 86400;
    const hh = Math.floor(sod / 3600);
    sod -= hh * 3600;
    const mm = Math.floor(sod / 60);
    out.twoDigits(hh);
    out.byte(0x3a);
    out.twoDigits(mm);
    out.byte(0x3a);
    out.twoDigits(sod - mm * 60);
    out.byte(0x2e);
    const micros = Math.floor(nanos / 1000);
    const hi = Math.floor(micros / 1000);
    const lo = micros - hi * 1000;
    out.twoDigits(Math.floor(hi / 10));
    out.byte(48 + (hi % 10));
    out.twoDigits(Math.floor(lo / 10));
    out.byte(48 + (lo % 10));
    out.byte(0x5a);
    out.byte(0x22);
  }

  private geo(end: number): void {
    const r = this.r;
    let lat = 0;
    let lng = 0;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 || field === 2) {
        if (wire !== FIXED64) throw r.wrongType(field, wire, FIXED64, 'LatLng');
        if (field === 1) lat = r.double(end);
        else lng = r.double(end);
      } else r.skip(wire, end);
    }
    const out = this.out;
    out.put(T_GEO);
    out.ascii(doubleText(lat));
    out.put(T_LNG);
    out.ascii(doubleText(lng));
    out.byte(0x7d);
  }

  private array(end: number, depth: number): void {
    const r = this.r;
    const out = this.out;
    let count = 0;
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field !== 1) {
        r.skip(wire, end);
        continue;
      }
      if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'ArrayValue');
      const e = r.len(end);
      out.put(count === 0 ? T_ARRAY : COMMA);
      try {
        this.value(e, depth);
      } catch (err) {
        throw withSeg(err, '[' + count + ']');
      }
      count++;
      r.pos = e;
    }
    out.put(count === 0 ? T_ARRAY_EMPTY : T_END_PATH);
  }
}

const COMMA = lit(',');

function readTimestamp(r: WireCursor, end: number): { seconds: string; nanos: number } {
  let seconds = '0';
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if ((field === 1 || field === 2) && wire === VARINT) {
      if (field === 1) seconds = r.int64(end);
      else nanos = r.int32(end);
    } else if (field === 1 || field === 2) throw r.wrongType(field, wire, VARINT, 'Timestamp');
    else r.skip(wire, end);
  }
  return { seconds, nanos };
}

/** What the transcoder keeps from response to response: its scratch and the caches of repeating text. */
class TranscoderCaches {
  readonly depths: Depth[] = [];
  readonly elements: number[] = [];
  readonly partitions = new TextCache(4);
  readonly kinds = new TextCache(8);
  tmp = Buffer.allocUnsafe(4096);
}

const shared = new LineBuffer();
const caches = new TranscoderCaches();

function asError(err: unknown, what: string, index: number): unknown {
  if (err instanceof WireFault) {
    const path = pathText(err.path);
    return new DspipeError('DSPIPE_RPC_FAILED', `malformed ${what} from Datastore: ${err.message} at byte ${err.offset}${index >= 0 ? ` (entity result ${index}${path ? ', property ' + path : ''})` : ''}`, {
      ...(path !== undefined && { path }),
      hint: 'the response is not valid protobuf; retry, and if it persists run with --transport object and report it',
    });
  }
  if (err instanceof Refusal) {
    const path = pathText(err.path);
    return new DspipeError('DSPIPE_REJECTED_ENTITY', 'cannot encode entity: ' + err.message, {
      ...(path !== undefined && { path }),
      ...(err.hint !== undefined && { hint: err.hint }),
    });
  }
  return err;
}

/** One RunQueryResponse as dump lines plus the batch's paging fields (see the module comment). */
export function runQueryResponseToLines(bytes: Buffer, options: LinesOptions = {}): LinesPage {
  const out = shared;
  out.pos = 0;
  const t = new Transcoder(bytes, out, caches);
  const r = t.r;
  let count = 0;
  let foreign = 0;
  let endCursor: Buffer | undefined;
  let more = 0;
  let skippedResults = 0;
  let readTime: { seconds: string; nanos: number } | undefined;
  let index = -1;
  try {
    const total = bytes.length;
    while (r.pos < total) {
      const tag = r.uint(total);
      if (tag >>> 3 !== 1) {
        r.skip(tag & 7, total);
        continue;
      }
      if ((tag & 7) !== LEN) throw r.wrongType(1, tag & 7, LEN, 'RunQueryResponse');
      const batchEnd = r.len(total);
      while (r.pos < batchEnd) {
        const btag = r.uint(batchEnd);
        const field = btag >>> 3;
        const wire = btag & 7;
        switch (field) {
          case 2: {
            if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'QueryResultBatch');
            const resultEnd = r.len(batchEnd);
            index++;
            while (r.pos < resultEnd) {
              const rtag = r.uint(resultEnd);
              if (rtag >>> 3 !== 1) {
                r.skip(rtag & 7, resultEnd);
                continue;
              }
              if ((rtag & 7) !== LEN) throw r.wrongType(1, rtag & 7, LEN, 'EntityResult');
              const entityEnd = r.len(resultEnd);
              const lineStart = out.pos;
              if (t.entity(entityEnd, 0, true, options.databaseId)) {
                out.byte(0x0a);
                count++;
              } else {
                out.pos = lineStart;
                foreign++;
              }
              r.pos = entityEnd;
            }
            break;
          }
          case 4: {
            if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'QueryResultBatch');
            const e = r.len(batchEnd);
            endCursor = Buffer.from(bytes.subarray(r.pos, e));
            r.pos = e;
            break;
          }
          case 5:
            if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'QueryResultBatch');
            more = r.uint(batchEnd);
            break;
          case 6:
            if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'QueryResultBatch');
            skippedResults = r.int32(batchEnd);
            break;
          case 8: {
            if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'QueryResultBatch');
            const e = r.len(batchEnd);
            readTime = readTimestamp(r, e);
            break;
          }
          default:
            r.skip(wire, batchEnd);
        }
      }
    }
  } catch (err) {
    throw asError(err, 'RunQueryResponse', index);
  }
  return {
    // the caller's to keep; the stage that consumes the bytes may give them back (recycleLines)
    lines: out.takeLines(),
    count,
    foreign,
    endCursor,
    moreResults: MORE_RESULTS_NAMES[more] ?? String(more),
    skippedResults,
    readTime,
  };
}

/** One Entity message as its dump line (no newline): the same bytes `encodeEntity` writes for it. */
export function entityBytesToLine(bytes: Buffer): Buffer {
  const out = shared;
  out.pos = 0;
  const t = new Transcoder(bytes, out, caches);
  try {
    t.entity(bytes.length, 0, true);
  } catch (err) {
    throw asError(err, 'Entity', -1);
  }
  return out.copyFrom(0);
}
