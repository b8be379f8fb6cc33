/**
 * Dump line bytes -> Mutation bytes in one scan, with no JSON.parse and no
 * parsed tree: the restore wire path's hot loop (issue 14). Profiling a
 * restore showed JSON.parse plus the walk over its objects (mutation.ts) as
 * most of the client's CPU, paid twice since the verify pass runs the same
 * encoder.
 *
 * It only takes the lines it is sure of — the form dspipe writes (see
 * entity-codec.ts): no whitespace, property names in UTF-8 order, the entity's
 * key before its properties, a key's partitionId before its path, simple
 * escapes — and answers undefined for anything else, valid or not: the caller
 * then runs lineToMutation on the line's text, which accepts or refuses it
 * with the codec's words. So every error still comes from one place, and what
 * this file accepts it must write exactly as lineToMutation would (same bytes,
 * same keys): test/format/wire/line-transcoder.test.ts checks that over the
 * codec corpus, random entities and every line cut and flipped.
 *
 * What it must not take, because JSON.parse would read it otherwise: a name
 * given twice in one object (the last wins there), property names that are
 * array indices (objects enumerate those first), bytes that are not UTF-8
 * (decoded to U+FFFD there).
 */
import { isUtf8 } from 'node:buffer';
import type { IKey } from '../../model/proto.js';
import { MAX_ENTITY_DEPTH, MAX_KEY_PATH } from '../../model/limits.js';
import { MessageWriter } from './message-writer.js';
import { varintSize } from './wire-cursor.js';
import { base64Bytes, isInt64String } from '../entity-codec.js';
import { parseTimestamp } from '../timestamp.js';
import type { MutationOp, WireKeyRewrite, WireMutation } from './mutation.js';

/** Not for this scanner: the caller takes the line's slow path. */
class Unsure {}
const UNSURE = new Unsure();

const OP_FIELD: Record<MutationOp, number> = { insert: 4, update: 5, upsert: 6 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Field names, as bytes. */
const N = (s: string) => Buffer.from(s, 'latin1');
const F_KEY = N('key');
const F_PROPERTIES = N('properties');
const F_PARTITION = N('partitionId');
const F_PATH = N('path');
const F_PROJECT = N('projectId');
const F_DATABASE = N('databaseId');
const F_NAMESPACE = N('namespaceId');
const F_KIND = N('kind');
const F_ID = N('id');
const F_NAME = N('name');
const F_VALUES = N('values');
const F_LATITUDE = N('latitude');
const F_LONGITUDE = N('longitude');
const KEY_FIELD = [F_KEY];
const PROPERTIES_FIELD = [F_PROPERTIES];
const ENTITY_FIELDS = [F_KEY, F_PROPERTIES];
const KEY_FIELDS = [F_PARTITION, F_PATH];
const PATH_FIELD = [F_PATH];
const PARTITION_FIELDS = [F_PROJECT, F_DATABASE, F_NAMESPACE];
const ELEMENT_FIELDS = [F_KIND, F_ID, F_NAME];
const GEO_FIELDS = [F_LATITUDE, F_LONGITUDE];
const VALUES_FIELD = [F_VALUES];
const L_TRUE = N('true');
const L_FALSE = N('false');
const L_NULL = N('null');

// Value object fields, by index in VALUE_NAMES.
const V_MEANING = 0;
const V_EXCLUDE = 1;
const V_NULL = 2;
const V_BOOLEAN = 3;
const V_INTEGER = 4;
const V_DOUBLE = 5;
const V_TIMESTAMP = 6;
const V_KEY = 7;
const V_STRING = 8;
const V_BLOB = 9;
const V_GEO = 10;
const V_ENTITY = 11;
const V_ARRAY = 12;
const VALUE_NAMES = ['meaning', 'excludeFromIndexes', 'nullValue', 'booleanValue', 'integerValue', 'doubleValue', 'timestampValue', 'keyValue', 'stringValue', 'blobValue', 'geoPointValue', 'entityValue', 'arrayValue'].map(N);

/** Deeper than this (arrays in arrays): the slow path decides. */
const MAX_NESTING = 64;

const hex = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1);

/** A string decoded from the same bytes as last time is the same string: kinds and partitions repeat on every line. */
class StringCache {
  private bytes = Buffer.alloc(0);
  private text = '';

  get(src: Buffer, a: number, e: number): string {
    const n = e - a;
    const b = this.bytes;
    if (b.length === n) {
      let i = 0;
      while (i < n && b[i] === src[a + i]) i++;
      if (i === n) return this.text;
    }
    this.bytes = Buffer.from(src.subarray(a, e));
    return (this.text = src.toString('utf8', a, e));
  }
}

class Transcoder {
  readonly w = new MessageWriter(256 * 1024);
  /** The line and where the scan is. */
  private b: Buffer = Buffer.alloc(0);
  private p = 0;
  private end = 0;
  /** A string token's body [sa, se), and whether it holds escapes or bytes over 0x7f. */
  private sa = 0;
  private se = 0;
  private esc = false;
  private high = false;
  private nesting = 0;
  /** Escaped strings decoded here. */
  private tmp = Buffer.allocUnsafe(4096);
  private tmpLen = 0;

  private rewrite: WireKeyRewrite | undefined;
  /** The partition whose keys move, as UTF-8 (the rewrite's source, or the entity's own), or undefined. */
  private fromProject: Buffer | undefined;
  private fromDatabase: Buffer | undefined;
  private readonly kinds = new StringCache();
  private readonly projects = new StringCache();
  private readonly databases = new StringCache();
  private readonly namespaces = new StringCache();
  private readonly sourceCache = new WeakMap<object, { project: Buffer; database: Buffer }>();

  // --- tokens ---------------------------------------------------------------

  private byte(c: number): void {
    if (this.b[this.p] !== c) throw UNSURE;
    this.p++;
  }

  private literal(lit: Buffer): void {
    const b = this.b;
    const p = this.p;
    for (let i = 0; i < lit.length; i++) if (b[p + i] !== lit[i]) throw UNSURE;
    this.p = p + lit.length;
  }

  /** A string token: sets sa, se, esc; leaves p after the closing quote. */
  private string(): void {
    const b = this.b;
    let i = this.p;
    if (b[i] !== QUOTE) throw UNSURE;
    const a = ++i;
    const end = this.end;
    let esc = false;
    for (;;) {
      if (i >= end) throw UNSURE;
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        esc = true;
        i += 2;
        continue;
      }
      if (c < 0x20) throw UNSURE; // JSON.parse refuses raw control characters
      if (c > 0x7f) this.high = true;
      i++;
    }
    this.sa = a;
    this.se = i;
    this.esc = esc;
    this.p = i + 1;
  }

  /** A field name (no escapes) followed by ':'; returns its index in `names`. */
  private field(names: readonly Buffer[]): number {
    this.string();
    if (this.esc) throw UNSURE;
    const b = this.b;
    const a = this.sa;
    const n = this.se - a;
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      if (name.length !== n) continue;
      let i = 0;
      while (i < n && b[a + i] === name[i]) i++;
      if (i === n) {
        this.byte(COLON);
        return k;
      }
    }
    throw UNSURE;
  }

  /** After a member: true at ',' (another follows), false at the object's '}'. */
  private more(close: number): boolean {
    const c = this.b[this.p++];
    if (c === COMMA) return true;
    if (c === close) return false;
    throw UNSURE;
  }

  /** The string token [sa, se) as it decodes, in tmp[0, tmpLen); escapes that would give a lone surrogate are unsure. */
  private unescape(): void {
    const b = this.b;
    const e = this.se;
    if (this.tmp.length < e - this.sa) this.tmp = Buffer.allocUnsafe(2 * (e - this.sa));
    const t = this.tmp;
    let o = 0;
    for (let i = this.sa; i < e; ) {
      const c = b[i++]!;
      if (c !== BACKSLASH) {
        t[o++] = c;
        continue;
      }
      const x = b[i++];
      switch (x) {
        case QUOTE: case BACKSLASH: case 0x2f: t[o++] = x; break;
        case 0x62: t[o++] = 8; break; // \b
        case 0x66: t[o++] = 12; break; // \f
        case 0x6e: t[o++] = 10; break; // \n
        case 0x72: t[o++] = 13; break; // \r
        case 0x74: t[o++] = 9; break; // \t
        case 0x75: { // \uXXXX
          let u = this.hex4(i, e);
          i += 4;
          if (u >= 0xd800 && u <= 0xdfff) {
            if (u >= 0xdc00 || b[i] !== BACKSLASH || b[i + 1] !== 0x75) throw UNSURE;
            const low = this.hex4(i + 2, e);
            if (low < 0xdc00 || low > 0xdfff) throw UNSURE;
            i += 6;
            u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
          }
          if (u < 0x80) t[o++] = u;
          else if (u < 0x800) {
            t[o++] = 0xc0 | (u >> 6);
            t[o++] = 0x80 | (u & 63);
          } else if (u < 0x10000) {
            t[o++] = 0xe0 | (u >> 12);
            t[o++] = 0x80 | ((u >> 6) & 63);
            t[o++] = 0x80 | (u & 63);
          } else {
            t[o++] = 0xf0 | (u >> 18);
            t[o++] = 0x80 | ((u >> 12) & 63);
            t[o++] = 0x80 | ((u >> 6) & 63);
            t[o++] = 0x80 | (u & 63);
          }
          break;
        }
        default:
          throw UNSURE;
      }
    }
    this.tmpLen = o;
  }

  private hex4(i: number, e: number): number {
    if (i + 4 > e) throw UNSURE;
    const b = this.b;
    const v = (hex(b[i]!) << 12) | (hex(b[i + 1]!) << 8) | (hex(b[i + 2]!) << 4) | hex(b[i + 3]!);
    if (v < 0 || hex(b[i]!) < 0 || hex(b[i + 1]!) < 0 || hex(b[i + 2]!) < 0 || hex(b[i + 3]!) < 0) throw UNSURE;
    return v;
  }

  /** A plain decimal integer token: -?(0|[1-9][0-9]*), at most 15 digits; its value. */
  private smallInt(a: number, e: number): number {
    const b = this.b;
    let i = a;
    const neg = b[i] === 0x2d;
    if (neg) i++;
    const digits = e - i;
    if (digits < 1 || digits > 15 || (b[i] === 48 && digits > 1)) throw UNSURE;
    let n = 0;
    for (; i < e; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) throw UNSURE;
      n = n * 10 + d;
    }
    return neg ? -n : n;
  }

  /** A JSON number token at p (the grammar exactly: Number() would take more); its value. */
  private number(): number {
    const b = this.b;
    const a = this.p;
    let i = a;
    if (b[i] === 0x2d) i++;
    const digits = (): boolean => {
      const s = i;
      while (b[i]! >= 48 && b[i]! <= 57) i++;
      return i > s;
    };
    if (b[i] === 48) i++;
    else if (!digits()) throw UNSURE;
    if (b[i] === 0x2e) {
      i++;
      if (!digits()) throw UNSURE;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!digits()) throw UNSURE;
    }
    if (i > this.end) throw UNSURE;
    this.p = i;
    return Number(b.toString('latin1', a, i));
  }

  /** A double: a number, or the strings "NaN", "Infinity", "-Infinity". */
  private double(): number {
    if (this.b[this.p] !== QUOTE) return this.number();
    this.string();
    const s = this.b.toString('latin1', this.sa, this.se);
    if (s === 'NaN') return NaN;
    if (s === 'Infinity') return Infinity;
    if (s === '-Infinity') return -Infinity;
    throw UNSURE;
  }

  private boolean(): boolean {
    if (this.b[this.p] === 0x74) return this.literal(L_TRUE), true;
    this.literal(L_FALSE);
    return false;
  }

  /** Bytes of the string token [sa, se) into the writer (escapes decoded). */
  private stringField(field: number): void {
    const w = this.w;
    if (!this.esc) return this.rawField(field, this.sa, this.se);
    this.unescape();
    w.tag(field, 2);
    w.varint(this.tmpLen);
    this.put(this.tmp, 0, this.tmpLen);
  }

  private rawField(field: number, a: number, e: number): void {
    const w = this.w;
    w.tag(field, 2);
    w.varint(e - a);
    this.put(this.b, a, e);
  }

  private put(src: Uint8Array, a: number, e: number): void {
    this.w.copyFrom(src, a, e);
  }

  // --- the entity -------------------------------------------------------------

  run(b: Buffer, from: number, end: number, op: MutationOp, rewrite: WireKeyRewrite | undefined): WireMutation {
    this.b = b;
    this.p = from;
    this.end = end;
    this.high = false;
    this.nesting = 0;
    this.rewrite = rewrite;
    this.fromProject = this.fromDatabase = undefined;
    if (rewrite?.source !== undefined) {
      let s = this.sourceCache.get(rewrite);
      if (s === undefined) this.sourceCache.set(rewrite, (s = { project: N8(rewrite.source.projectId), database: N8(rewrite.source.databaseId) }));
      this.fromProject = s.project;
      this.fromDatabase = s.database;
    }
    const w = this.w;
    // The entity's body starts at GAP; its tag and length go in front of it at the end, so it is never moved.
    const GAP = 8;
    w.pos = GAP;
    this.byte(OPEN);
    if (this.field(KEY_FIELD) !== 0) throw UNSURE;
    const km = w.begin(1);
    const keys = this.topKey();
    w.end(km);
    if (this.more(CLOSE)) {
      this.field(PROPERTIES_FIELD);
      this.properties(0);
      this.byte(CLOSE);
    }
    if (this.p !== end) throw UNSURE;
    if (this.high && !isUtf8(b.subarray(from, end))) throw UNSURE;
    const len = w.pos - GAP;
    const start = GAP - 1 - varintSize(len);
    const buf = w.buf;
    buf[start] = (OP_FIELD[op] << 3) | 2;
    for (let n = len, q = start + 1; ; ) {
      if (n > 0x7f) {
        buf[q++] = (n % 128) | 0x80;
        n = Math.floor(n / 128);
      } else {
        buf[q] = n;
        break;
      }
    }
    return { bytes: Buffer.from(buf.subarray(start, w.pos)), key: keys.key, sourceKey: keys.sourceKey };
  }

  /** The entity's own key: written (moved if there is a rewrite), and returned as written and as the line has it. */
  private topKey(): { key: IKey; sourceKey: IKey } {
    this.byte(OPEN);
    let sourcePartition: Record<string, string> | undefined;
    let projectId = '';
    let databaseId = '';
    let namespaceId = '';
    let pa = 0, pe = 0, da = 0, de = 0, na = 0, ne = 0; // eslint-disable-line one-var
    let k = this.field(KEY_FIELDS);
    if (k === 0) {
      sourcePartition = {};
      this.byte(OPEN);
      if (this.b[this.p] === CLOSE) this.p++;
      else {
        let seen = 0;
        do {
          const f = this.field(PARTITION_FIELDS);
          if (seen & (1 << f)) throw UNSURE;
          seen |= 1 << f;
          this.string();
          if (this.esc) throw UNSURE;
          if (f === 0) (pa = this.sa), (pe = this.se), (sourcePartition.projectId = projectId = this.projects.get(this.b, pa, pe));
          else if (f === 1) (da = this.sa), (de = this.se), (sourcePartition.databaseId = databaseId = this.databases.get(this.b, da, de));
          else (na = this.sa), (ne = this.se), (sourcePartition.namespaceId = namespaceId = this.namespaces.get(this.b, na, ne));
        } while (this.more(CLOSE));
      }
      this.byte(COMMA);
      k = this.field(PATH_FIELD) + 1;
    }
    if (k !== 1) throw UNSURE;
    const rw = this.rewrite;
    const w = this.w;
    if (rw !== undefined) {
      // Our own key always moves; references move when they name the database ours came from.
      if (this.fromProject === undefined) {
        this.fromProject = this.b.subarray(pa, pe);
        this.fromDatabase = this.b.subarray(da, de);
      }
      projectId = rw.target.projectId;
      databaseId = rw.target.databaseId;
      namespaceId = rw.namespaceMap?.get(namespaceId) ?? namespaceId;
      const m = w.begin(1);
      if (projectId !== '') w.string(2, projectId);
      if (databaseId !== '') w.string(3, databaseId);
      if (namespaceId !== '') w.string(4, namespaceId);
      w.end(m);
    } else if (sourcePartition !== undefined) {
      const m = w.begin(1);
      if (pe > pa) this.rawField(2, pa, pe);
      if (de > da) this.rawField(3, da, de);
      if (ne > na) this.rawField(4, na, ne);
      w.end(m);
    }
    const path = this.path(false, true)!;
    this.byte(CLOSE);
    const sourceKey = (sourcePartition !== undefined ? { partitionId: sourcePartition, path } : { path }) as IKey;
    return { key: { partitionId: { projectId, databaseId, namespaceId }, path } as IKey, sourceKey };
  }

  /** A key's path array at p, written as elements (field 2); returned as objects when `want`. Elements as dspipe writes them: kind first. */
  private path(allowIncomplete: boolean, want: boolean): Array<Record<string, string>> | undefined {
    this.byte(OPEN_ARRAY);
    const out: Array<Record<string, string>> | undefined = want ? [] : undefined;
    const w = this.w;
    const b = this.b;
    let n = 0;
    let incomplete = false;
    do {
      if (incomplete) throw UNSURE; // only the last element may lack an id or name
      if (++n > MAX_KEY_PATH) throw UNSURE;
      this.byte(OPEN);
      if (this.field(ELEMENT_FIELDS) !== 0) throw UNSURE;
      this.string();
      if (this.se === this.sa) throw UNSURE;
      const m = w.begin(2);
      let e: Record<string, string> | undefined;
      if (!this.esc) {
        this.rawField(1, this.sa, this.se);
        if (want) e = { kind: this.kinds.get(b, this.sa, this.se) };
      } else {
        this.unescape();
        this.tmpField(1);
        if (want) e = { kind: this.tmp.toString('utf8', 0, this.tmpLen) };
      }
      if (this.more(CLOSE)) {
        const f = this.field(ELEMENT_FIELDS);
        this.string();
        const ia = this.sa;
        const ie = this.se;
        if (f === 1) {
          if (this.esc) throw UNSURE;
          w.tag(2, 0);
          if (b[ia] === 0x2d || ie - ia > 15) {
            // long ids (and anything signed) through the codec's own check
            const s = b.toString('latin1', ia, ie);
            if (!isInt64String(s) || s === '0' || s.charCodeAt(0) === 45) throw UNSURE;
            w.int64(s);
            if (e) e.id = s;
          } else {
            const v = this.smallInt(ia, ie);
            if (v === 0) throw UNSURE;
            w.varint(v);
            if (e) e.id = b.toString('latin1', ia, ie);
          }
        } else if (f === 2) {
          if (ie === ia) throw UNSURE;
          if (!this.esc) {
            this.rawField(3, ia, ie);
            if (e) e.name = b.toString('utf8', ia, ie);
          } else {
            this.unescape();
            this.tmpField(3);
            if (e) e.name = this.tmp.toString('utf8', 0, this.tmpLen);
          }
        } else throw UNSURE;
        this.byte(CLOSE);
      } else {
        if (!allowIncomplete) throw UNSURE;
        incomplete = true;
      }
      w.end(m);
      out?.push(e!);
    } while (this.more(CLOSE_ARRAY));
    return out;
  }

  /** The decoded string in tmp as a length-delimited field. */
  private tmpField(field: number): void {
    const w = this.w;
    w.tag(field, 2);
    w.varint(this.tmpLen);
    this.put(this.tmp, 0, this.tmpLen);
  }

  /** A key value's or embedded entity's key: moved when it names the database the rewrite moves. */
  private refKey(): void {
    this.byte(OPEN);
    const w = this.w;
    const b = this.b;
    let pa = 0, pe = 0, da = 0, de = 0, na = 0, ne = 0; // eslint-disable-line one-var
    let hasPartition = false;
    let k = this.field(KEY_FIELDS);
    if (k === 0) {
      hasPartition = true;
      this.byte(OPEN);
      if (b[this.p] === CLOSE) this.p++;
      else {
        let seen = 0;
        do {
          const f = this.field(PARTITION_FIELDS);
          if (seen & (1 << f)) throw UNSURE;
          seen |= 1 << f;
          this.string();
          if (this.esc) throw UNSURE;
          if (f === 0) (pa = this.sa), (pe = this.se);
          else if (f === 1) (da = this.sa), (de = this.se);
          else (na = this.sa), (ne = this.se);
        } while (this.more(CLOSE));
      }
      this.byte(COMMA);
      k = this.field(PATH_FIELD) + 1;
    }
    if (k !== 1) throw UNSURE;
    const rw = this.rewrite;
    if (rw !== undefined && same(b, pa, pe, this.fromProject!) && same(b, da, de, this.fromDatabase!)) {
      const namespaceId = b.toString('utf8', na, ne);
      const target = rw.namespaceMap?.get(namespaceId) ?? namespaceId;
      const m = w.begin(1);
      if (rw.target.projectId !== '') w.string(2, rw.target.projectId);
      if (rw.target.databaseId !== '') w.string(3, rw.target.databaseId);
      if (target !== '') w.string(4, target);
      w.end(m);
    } else if (hasPartition) {
      const m = w.begin(1);
      if (pe > pa) this.rawField(2, pa, pe);
      if (de > da) this.rawField(3, da, de);
      if (ne > na) this.rawField(4, na, ne);
      w.end(m);
    }
    this.path(true, false);
    this.byte(CLOSE);
  }

  /** A properties object at p: one Entity.properties entry (field 3) each, names in UTF-8 order. */
  private properties(depth: number): void {
    this.byte(OPEN);
    const b = this.b;
    if (b[this.p] === CLOSE) return void this.p++;
    let ps: Buffer | undefined;
    let pa = 0;
    let pe = 0;
    do {
      this.string();
      let src = b;
      let a = this.sa;
      let e = this.se;
      if (this.esc) {
        this.unescape();
        src = Buffer.from(this.tmp.subarray(0, this.tmpLen));
        a = 0;
        e = src.length;
      }
      // not empty, not an array index (those enumerate first), after the one before (so never repeated)
      if (e === a || (src[a]! >= 48 && src[a]! <= 57)) throw UNSURE;
      if (ps !== undefined && compareBytes(ps, pa, pe, src, a, e) >= 0) throw UNSURE;
      ps = src;
      pa = a;
      pe = e;
      this.byte(COLON);
      this.value(depth, src, a, e);
    } while (this.more(CLOSE));
  }

  /**
   * A value object at p, written with its header: a property entry (name at
   * ns[na, ne)) or, with ns null, an ArrayValue element. Strings and
   * blobs, the values that can be long, are measured before they are written,
   * so their headers are exact and no byte is moved.
   */
  private value(depth: number, ns: Buffer | null, na: number, ne: number): void {
    this.byte(OPEN);
    const w = this.w;
    let type = -1;
    let meaning = 0;
    let exclude = false;
    let seen = 0;
    let entryMark = -1;
    let valueMark = -1;
    // scalar payloads, read now and written at the end
    let va = 0;
    let ve = 0;
    let vesc = false;
    let num = 0;
    let bool = false;
    do {
      const f = this.field(VALUE_NAMES);
      if (f === V_MEANING || f === V_EXCLUDE) {
        if (seen & (1 << f)) throw UNSURE;
        seen |= 1 << f;
        if (f === V_EXCLUDE) exclude = this.boolean();
        else {
          const a = this.p;
          const b = this.b;
          let i = a;
          while (b[i] === 0x2d || (b[i]! >= 48 && b[i]! <= 57)) i++;
          meaning = this.smallInt(a, i);
          if (meaning < -2147483648 || meaning > 2147483647) throw UNSURE;
          this.p = i;
        }
        continue;
      }
      if (type !== -1) throw UNSURE;
      type = f;
      switch (f) {
        case V_STRING:
        case V_BLOB:
        case V_INTEGER:
        case V_TIMESTAMP:
          this.string();
          va = this.sa;
          ve = this.se;
          vesc = this.esc;
          break;
        case V_DOUBLE:
          num = this.double();
          break;
        case V_BOOLEAN:
          bool = this.boolean();
          break;
        case V_NULL:
          if (this.b[this.p] === QUOTE) {
            this.string();
            if (this.b.toString('latin1', this.sa, this.se) !== 'NULL_VALUE') throw UNSURE;
          } else this.literal(L_NULL);
          break;
        default: {
          // keys, geo points, entities and arrays are written as they are read
          if (ns !== null) {
            entryMark = w.begin(3);
            this.nameField(ns, na, ne);
            valueMark = w.begin(2);
          } else valueMark = w.begin(1);
          this.composite(f, depth);
        }
      }
    } while (this.more(CLOSE));
    if (type === -1) throw UNSURE;
    if (valueMark === -1) {
      if (type === V_STRING || type === V_BLOB) return this.measured(type, va, ve, vesc, meaning, exclude, ns, na, ne);
      if (ns !== null) {
        entryMark = w.begin(3);
        this.nameField(ns, na, ne);
        valueMark = w.begin(2);
      } else valueMark = w.begin(1);
      switch (type) {
        case V_INTEGER: {
          if (vesc) throw UNSURE;
          w.tag(2, 0);
          const b = this.b;
          if (ve - va < 16 && b[va] !== 0x2d) w.varint(this.smallInt(va, ve));
          else {
            const s = b.toString('latin1', va, ve);
            if (!isInt64String(s)) throw UNSURE;
            w.int64(s);
          }
          break;
        }
        case V_DOUBLE:
          w.double(3, num);
          break;
        case V_BOOLEAN:
          w.tag(1, 0);
          w.byte(bool ? 1 : 0);
          break;
        case V_TIMESTAMP: {
          if (vesc || !ascii(this.b, va, ve)) throw UNSURE;
          const t = parseTimestamp(this.b.toString('latin1', va, ve));
          if (typeof t === 'string') throw UNSURE;
          const m = w.begin(10);
          if (t.seconds !== 0) (w.tag(1, 0), w.int64(String(t.seconds)));
          if (t.nanos !== 0) (w.tag(2, 0), w.varint(t.nanos));
          w.end(m);
          break;
        }
        case V_NULL:
          w.tag(11, 0);
          w.byte(0);
          break;
      }
    }
    if (meaning !== 0) (w.tag(14, 0), int32(w, meaning));
    if (exclude) (w.tag(19, 0), w.byte(1));
    w.end(valueMark);
    if (entryMark !== -1) w.end(entryMark);
  }

  /** A string or blob value, its header written with exact lengths. */
  private nameField(ns: Buffer, na: number, ne: number): void {
    const w = this.w;
    w.tag(1, 2);
    w.varint(ne - na);
    this.put(ns, na, ne);
  }

  private measured(type: number, va: number, ve: number, vesc: boolean, meaning: number, exclude: boolean, ns: Buffer | null, na: number, ne: number): void {
    const w = this.w;
    let src: Buffer;
    let a: number;
    let e: number;
    if (type === V_BLOB) {
      if (vesc) throw UNSURE;
      const bytes = base64Bytes(this.b.toString('latin1', va, ve));
      if (bytes === null) throw UNSURE;
      (src = bytes), (a = 0), (e = bytes.length);
    } else if (vesc) {
      this.sa = va;
      this.se = ve;
      this.unescape();
      (src = this.tmp), (a = 0), (e = this.tmpLen);
    } else (src = this.b), (a = va), (e = ve);
    const n = e - a;
    // meaning (14), then string (17) or blob (18), then excludeFromIndexes (19): the order mutation.ts writes
    const meaningBytes = meaning === 0 ? 0 : 1 + (meaning < 0 ? 10 : varintSize(meaning));
    const size = meaningBytes + 2 + varintSize(n) + n + (exclude ? 3 : 0);
    if (ns !== null) {
      const nameField = 1 + varintSize(ne - na) + (ne - na);
      w.tag(3, 2);
      w.varint(nameField + 1 + varintSize(size) + size);
      this.nameField(ns, na, ne);
      w.tag(2, 2);
    } else w.tag(1, 2);
    w.varint(size);
    if (meaning !== 0) (w.tag(14, 0), int32(w, meaning));
    w.tag(type === V_STRING ? 17 : 18, 2);
    w.varint(n);
    this.put(src, a, e);
    if (exclude) (w.tag(19, 0), w.byte(1));
  }

  private composite(type: number, depth: number): void {
    const w = this.w;
    if (++this.nesting > MAX_NESTING) throw UNSURE;
    switch (type) {
      case V_KEY: {
        const m = w.begin(5);
        this.refKey();
        w.end(m);
        break;
      }
      case V_GEO: {
        this.byte(OPEN);
        let lat = 0;
        let lng = 0;
        if (this.b[this.p] === CLOSE) this.p++;
        else {
          let seen = 0;
          do {
            const f = this.field(GEO_FIELDS);
            if (seen & (1 << f)) throw UNSURE;
            seen |= 1 << f;
            if (f === 0) lat = this.double();
            else lng = this.double();
          } while (this.more(CLOSE));
        }
        const m = w.begin(8);
        if (!Object.is(lat, 0)) w.double(1, lat);
        if (!Object.is(lng, 0)) w.double(2, lng);
        w.end(m);
        break;
      }
      case V_ENTITY: {
        if (depth >= MAX_ENTITY_DEPTH) throw UNSURE;
        const m = w.begin(6);
        this.byte(OPEN);
        if (this.b[this.p] === CLOSE) this.p++;
        else {
          let f = this.field(ENTITY_FIELDS);
          if (f === 0) {
            const km = w.begin(1);
            this.refKey();
            w.end(km);
            if (this.more(CLOSE)) f = this.field(PROPERTIES_FIELD) + 1;
            else f = -1;
          }
          if (f === 1) {
            this.properties(depth + 1);
            this.byte(CLOSE);
          }
        }
        w.end(m);
        break;
      }
      case V_ARRAY: {
        const m = w.begin(9);
        this.byte(OPEN);
        if (this.b[this.p] === CLOSE) this.p++;
        else {
          this.field(VALUES_FIELD);
          this.byte(OPEN_ARRAY);
          if (this.b[this.p] === CLOSE_ARRAY) this.p++;
          else {
            do this.value(depth, null, 0, 0);
            while (this.more(CLOSE_ARRAY));
          }
          this.byte(CLOSE);
        }
        w.end(m);
        break;
      }
    }
    this.nesting--;
  }
}

/** An int32 varint (negative ones sign-extended to 10 bytes, as protobuf does). */
function int32(w: MessageWriter, n: number): void {
  if (n >= 0) w.varint(n);
  else w.int64(String(n));
}

const N8 = (s: string) => Buffer.from(s, 'utf8');

/** b1[a1, e1) against b2[a2, e2), bytewise (UTF-8 order). */
function compareBytes(b1: Buffer, a1: number, e1: number, b2: Buffer, a2: number, e2: number): number {
  const n = Math.min(e1 - a1, e2 - a2);
  for (let i = 0; i < n; i++) {
    const d = b1[a1 + i]! - b2[a2 + i]!;
    if (d !== 0) return d;
  }
  return e1 - a1 - (e2 - a2);
}

function ascii(b: Buffer, a: number, e: number): boolean {
  for (let i = a; i < e; i++) if (b[i]! > 0x7f) return false;
  return true;
}

/** b[a, e) holds exactly the bytes of `x`. */
function same(b: Buffer, a: number, e: number, x: Uint8Array): boolean {
  const n = e - a;
  if (n !== x.length) return false;
  for (let i = 0; i < n; i++) if (b[a + i] !== x[i]) return false;
  return true;
}

const transcoder = new Transcoder();

/**
 * The dump line bytes[from, end) (no newline) as lineToMutation would
 * encode it, or undefined when this scanner is not sure of the line: then
 * call lineToMutation on its text, for the bytes or the error.
 */
export function lineBytesToMutation(bytes: Buffer, from: number, end: number, op: MutationOp, rewrite?: WireKeyRewrite): WireMutation | undefined {
  try {
    return transcoder.run(bytes, from, end, op, rewrite);
  } catch (err) {
    if (err === UNSURE) return undefined;
    throw err;
  }
}
