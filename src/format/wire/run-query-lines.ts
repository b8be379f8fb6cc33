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
import { formatTimestamp } from '../timestamp.js';
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

// Property names repeat across every entity of a kind: their JSON text is kept.
const nameCache = new Map<string, { first: Buffer; next: Buffer }>();
function nameText(name: string): { first: Buffer; next: Buffer } {
  let t = nameCache.get(name);
  if (t === undefined) {
    const q = JSON.stringify(name);
    t = { first: lit(q + ':'), next: lit(',' + q + ':') };
    if (nameCache.size >= 50000) nameCache.clear();
    nameCache.set(name, t);
  }
  return t;
}

class Transcoder {
  readonly r: WireCursor;
  /** Scratch for the properties of the entity being written, reused (entities nest, so a stack of them). */
  private scratch: Array<{ names: string[]; starts: number[]; ends: number[]; seenBytes: Buffer[]; seenNames: string[] }> = [];

  constructor(
    buf: Buffer,
    readonly out: LineBuffer,
  ) {
    this.r = new WireCursor(buf);
  }

  /** A key message [pos, end) as JSON; returns the key's database id. */
  key(end: number, allowIncomplete: boolean): string {
    const r = this.r;
    const out = this.out;
    let pStart = -1;
    let pEnd = -1;
    const elements: number[] = []; // [start, end) pairs of path elements
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
        } else elements.push(r.pos, e);
        r.pos = e;
      } else r.skip(wire, end);
    }
    const after = r.pos;
    // partition: project 2, database 3, namespace 4 (last one wins)
    let proj = -1, projEnd = -1, db = -1, dbEnd = -1, ns = -1, nsEnd = -1;
    if (pStart >= 0) {
      r.pos = pStart;
      while (r.pos < pEnd) {
        const tag = r.uint(pEnd);
        const field = tag >>> 3;
        const wire = tag & 7;
        if (field >= 2 && field <= 4) {
          if (wire !== LEN) throw withSeg(r.wrongType(field, wire, LEN, 'PartitionId'), 'partitionId');
          const e = r.len(pEnd);
          if (field === 2) (proj = r.pos), (projEnd = e);
          else if (field === 3) (db = r.pos), (dbEnd = e);
          else (ns = r.pos), (nsEnd = e);
          r.pos = e;
        } else r.skip(wire, pEnd);
      }
    }
    const buf = r.buf;
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
    const n = elements.length >> 1;
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
    return db >= 0 ? buf.toString('utf8', db, dbEnd) : '';
  }

  private pathElement(start: number, end: number, incompleteOk: boolean): void {
    const r = this.r;
    r.pos = start;
    let kind = -1, kindEnd = -1;
    let id: string | undefined;
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
          id = undefined;
        }
        r.pos = e;
      } else if (field === 2) {
        if (wire !== VARINT) throw r.wrongType(field, wire, VARINT, 'PathElement');
        id = r.int64(end);
        name = -1;
      } else r.skip(wire, end);
    }
    if (kind < 0 || kind === kindEnd) throw new Refusal('path element needs a non-empty kind');
    const out = this.out;
    out.put(T_KIND);
    out.jsonString(r.buf, kind, kindEnd);
    if (id !== undefined) {
      if (id === '0' || id.charCodeAt(0) === 45) throw new Refusal(`id ${id} is invalid: ids are 1..9223372036854775807`);
      out.put(T_ID);
      out.ascii(id);
      out.byte(0x22);
    } else if (name >= 0) {
      if (name === nameEnd) throw new Refusal('path element name must not be empty');
      out.put(T_NAME);
      out.jsonString(r.buf, name, nameEnd);
    } else if (!incompleteOk) {
      throw new Refusal(`path element of kind ${JSON.stringify(r.buf.toString('utf8', kind, kindEnd))} has neither id nor name (incomplete key)`);
    }
    out.byte(0x7d);
  }

  /**
   * The properties of an entity [pos, end) as `{"name":value,…}` in UTF-8
   * name order. Written in wire order first; when that is not sorted (or a
   * name repeats) the written values are put in order afterwards.
   */
  properties(entries: number[], depth: number): void {
    const out = this.out;
    const r = this.r;
    const n = entries.length >> 1;
    if (n === 0) {
      out.put(T_EMPTY_OBJ);
      return;
    }
    const s = (this.scratch[depth] ??= { names: [], starts: [], ends: [], seenBytes: [], seenNames: [] });
    const names = s.names;
    const starts = s.starts;
    const ends = s.ends;
    names.length = starts.length = ends.length = 0;
    let sorted = true;
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
      const name = nameStart < 0 ? '' : this.name(s, i, nameStart, nameEnd);
      try {
        if (name === '') throw new Refusal('property name must not be empty');
        if (vStart < 0) throw new Refusal('value must be an object, not null');
        if (names.length > 0 && compareUtf8(names[names.length - 1]!, name) >= 0) sorted = false;
        const t = nameText(name);
        out.put(i === 0 ? t.first : t.next);
        starts.push(out.pos);
        r.pos = vStart;
        this.value(vEnd, depth);
        ends.push(out.pos);
        names.push(name);
      } catch (err) {
        throw withSeg(err, seg(name));
      }
    }
    if (!sorted) this.reorder(begin, names, starts, ends);
    out.byte(0x7d);
  }

  /**
   * The property name at position i of an entity, as a string: entities of a
   * kind repeat their names in the same order, so the bytes are compared with
   * the last name seen at that position before a new string is made.
   */
  private name(s: { seenBytes: Buffer[]; seenNames: string[] }, i: number, start: number, end: number): string {
    const buf = this.r.buf;
    const seen = s.seenBytes[i];
    const n = end - start;
    if (seen !== undefined && seen.length === n) {
      let k = 0;
      while (k < n && seen[k] === buf[start + k]) k++;
      if (k === n) return s.seenNames[i]!;
    }
    const name = buf.toString('utf8', start, end);
    if (n <= 256) {
      s.seenBytes[i] = Buffer.from(buf.subarray(start, end));
      s.seenNames[i] = name;
    }
    return name;
  }

  /** Rewrites the properties written since `begin` in name order, the last of equal names kept. */
  private reorder(begin: number, names: string[], starts: number[], ends: number[]): void {
    const out = this.out;
    const written = Buffer.from(out.buf.subarray(begin, out.pos));
    const order = names.map((_, i) => i);
    order.sort((a, b) => compareUtf8(names[a]!, names[b]!) || a - b);
    out.pos = begin;
    out.byte(0x7b);
    let first = true;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const next = order[k + 1];
      if (next !== undefined && names[next] === names[i]) continue; // a later copy of the name wins
      const t = nameText(names[i]!);
      out.put(first ? t.first : t.next);
      first = false;
      out.put(written.subarray(starts[i]! - begin, ends[i]! - begin));
    }
  }

  /** An Entity message [pos, end): `{"key":…,"properties":…}` (key required at the top). */
  entity(end: number, depth: number, top: boolean, wantDatabase?: string): boolean {
    const r = this.r;
    const out = this.out;
    let kStart = -1, kEnd = -1;
    const entries: number[] = [];
    while (r.pos < end) {
      const tag = r.uint(end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 || field === 3) {
        if (wire !== LEN) throw r.wrongType(field, wire, LEN, 'Entity');
        const e = r.len(end);
        if (field === 1) (kStart = r.pos), (kEnd = e);
        else entries.push(r.pos, e);
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
        out.put(T_KEY.subarray(1));
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
    this.properties(entries, depth);
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
        out.ascii(r.int64(end));
        out.byte(0x22);
        break;
      case 3:
        r.pos = at;
        out.put(T_DOUBLE);
        out.ascii(doubleText(r.double(end)));
        break;
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
        out.ascii(buf.toString('base64', at, atEnd));
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
      out.ascii(String(meaning));
    }
    if (exclude) out.put(T_EXCLUDE);
    out.byte(0x7d);
    r.pos = end;
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
    this.out.put(T_TS);
    this.out.ascii(formatTimestamp(seconds, nanos));
    this.out.byte(0x22);
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

const shared = new LineBuffer();

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
  const t = new Transcoder(bytes, out);
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
    lines: out.copyFrom(0),
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
  const t = new Transcoder(bytes, out);
  try {
    t.entity(bytes.length, 0, true);
  } catch (err) {
    throw asError(err, 'Entity', -1);
  }
  return out.copyFrom(0);
}
