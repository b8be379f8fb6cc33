/**
 * Query cursors are positions, not entity snapshots: the sort values and key
 * of the row a cursor stands after (or "the beginning"), plus a hash of the
 * query shape (kind and effective order) so a cursor cannot be replayed on a
 * query it does not describe. A cursor stays valid after the entity it points
 * at is deleted because resuming compares positions, it never looks the row up.
 *
 * Layout (compact, little-endian): 'D' 1, u32 shape, u8 flag (0 beginning,
 * 1 after row), then for a row: u8 n + n values, u16 path length + elements,
 * u8 m + m projected values.
 */
import type { IKey, IPathElement, IValue } from '../../model/proto.js';
import { invalid } from './errors.js';
import { bytesOf, doubleOf, valueTypeOf } from './values.js';
import { GrowableBuffer } from '../../format/growable-buffer.js';

export interface Position {
  /** Sort values of the row, one per non-`__key__` order, in order. */
  values: IValue[];
  /** Path of the row's key (partition is the query's). */
  path: IPathElement[];
  /** Projection rows only: the projected values, so array rows of one entity stay apart. */
  extra: IValue[];
}

const MAGIC = 0x44;
const VERSION = 1;

class Writer extends GrowableBuffer {
  constructor() {
    super(128);
  }

  u8(x: number): void {
    this.ensure(1);
    this.buf[this.pos++] = x;
  }
  u32(x: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(x >>> 0, this.pos);
    this.pos += 4;
  }
  f64(x: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(x, this.pos);
    this.pos += 8;
  }
  str(s: string): void {
    // Worst case 3 bytes per UTF-16 unit.
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4 + n;
  }
  bytes(b: Buffer): void {
    this.ensure(4 + b.length);
    this.buf.writeUInt32LE(b.length, this.pos);
    b.copy(this.buf, this.pos + 4);
    this.pos += 4 + b.length;
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw badCursor();
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const x = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return x;
  }
  f64(): number {
    this.need(8);
    const x = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return x;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
}

function badCursor(): Error {
  // Both Google emulators' words first (they parse the cursor as a protocol message); then ours.
  return invalid('Error parsing protocol message (the query cursor is malformed or was not returned by this emulator).');
}

function writePath(w: Writer, path: readonly IPathElement[]): void {
  w.u32(path.length);
  for (const e of path) {
    w.str(e.kind ?? '');
    const id = e.id === null || e.id === undefined ? '' : String(e.id);
    if (id !== '' && id !== '0') {
      w.u8(1);
      w.str(id);
    } else if (e.name) {
      w.u8(2);
      w.str(e.name);
    } else {
      w.u8(0);
    }
  }
}

function readPath(r: Reader): IPathElement[] {
  const n = r.u32();
  if (n > 100) throw badCursor();
  const path: IPathElement[] = [];
  for (let i = 0; i < n; i++) {
    const kind = r.str();
    const tag = r.u8();
    if (tag === 1) path.push({ kind, id: r.str(), idType: 'id' } as IPathElement);
    else if (tag === 2) path.push({ kind, name: r.str(), idType: 'name' } as IPathElement);
    else path.push({ kind });
  }
  return path;
}

const TAGS = ['nullValue', 'integerValue', 'timestampValue', 'booleanValue', 'blobValue', 'stringValue', 'doubleValue', 'geoPointValue', 'keyValue'] as const;

function writeValue(w: Writer, v: IValue): void {
  const t = valueTypeOf(v);
  const tag = TAGS.indexOf(t as (typeof TAGS)[number]);
  if (tag < 0) throw new Error(`cannot encode a ${String(t)} in a cursor`);
  w.u8(tag);
  switch (t) {
    case 'integerValue':
      w.str(String(v.integerValue ?? '0'));
      break;
    case 'timestampValue':
      w.str(String(v.timestampValue?.seconds ?? '0'));
      w.u32(Number(v.timestampValue?.nanos ?? 0));
      break;
    case 'booleanValue':
      w.u8(v.booleanValue ? 1 : 0);
      break;
    case 'blobValue':
      w.bytes(bytesOf(v));
      break;
    case 'stringValue':
      w.str(v.stringValue ?? '');
      break;
    case 'doubleValue':
      w.f64(doubleOf(v));
      break;
    case 'geoPointValue':
      w.f64(Number(v.geoPointValue?.latitude ?? 0));
      w.f64(Number(v.geoPointValue?.longitude ?? 0));
      break;
    case 'keyValue': {
      const p = v.keyValue?.partitionId ?? {};
      w.str(p.projectId ?? '');
      w.str(p.databaseId ?? '');
      w.str(p.namespaceId ?? '');
      writePath(w, v.keyValue?.path ?? []);
      break;
    }
    default:
      break;
  }
}

function readValue(r: Reader): IValue {
  const t = TAGS[r.u8()];
  switch (t) {
    case 'nullValue':
      return { nullValue: 'NULL_VALUE', valueType: 'nullValue' } as IValue;
    case 'integerValue':
      return { integerValue: r.str(), valueType: t } as IValue;
    case 'timestampValue': {
      const seconds = r.str();
      return { timestampValue: { seconds, nanos: r.u32() }, valueType: t } as IValue;
    }
    case 'booleanValue':
      return { booleanValue: r.u8() === 1, valueType: t } as IValue;
    case 'blobValue':
      return { blobValue: r.bytes(), valueType: t } as IValue;
    case 'stringValue':
      return { stringValue: r.str(), valueType: t } as IValue;
    case 'doubleValue':
      return { doubleValue: r.f64(), valueType: t } as IValue;
    case 'geoPointValue': {
      const latitude = r.f64();
      return { geoPointValue: { latitude, longitude: r.f64() }, valueType: t } as IValue;
    }
    case 'keyValue': {
      const projectId = r.str();
      const databaseId = r.str();
      const namespaceId = r.str();
      const key: IKey = { partitionId: { projectId, databaseId, namespaceId }, path: readPath(r) };
      return { keyValue: key, valueType: t } as IValue;
    }
    default:
      throw badCursor();
  }
}

/** Encodes the position just after a row (or the beginning when `pos` is null). */
// Encoding is synchronous, so one scratch buffer serves every cursor; done() copies out.
const scratch = new Writer();

export function encodeCursor(shape: number, pos: Position | null): Buffer {
  const w = scratch;
  w.pos = 0;
  w.u8(MAGIC);
  w.u8(VERSION);
  w.u32(shape);
  if (pos === null) {
    w.u8(0);
    return w.done();
  }
  w.u8(1);
  w.u8(pos.values.length);
  for (const v of pos.values) writeValue(w, v);
  writePath(w, pos.path);
  w.u8(pos.extra.length);
  for (const v of pos.extra) writeValue(w, v);
  return w.done();
}

/** Decodes a cursor for a query of `shape`; null means "the beginning". */
export function decodeCursor(shape: number, cursor: Buffer | Uint8Array | string): Position | null {
  const buf = typeof cursor === 'string' ? Buffer.from(cursor, 'base64') : Buffer.from(cursor.buffer, cursor.byteOffset, cursor.byteLength);
  const r = new Reader(buf);
  if (r.u8() !== MAGIC || r.u8() !== VERSION) throw badCursor();
  if (r.u32() !== shape) throw invalid('Cursor does not match query: it was returned by a query with a different kind or order.');
  const flag = r.u8();
  if (flag === 0) return null;
  if (flag !== 1) throw badCursor();
  const values: IValue[] = [];
  for (let n = r.u8(); n > 0; n--) values.push(readValue(r));
  const path = readPath(r);
  const extra: IValue[] = [];
  for (let n = r.u8(); n > 0; n--) extra.push(readValue(r));
  if (r.pos !== buf.length) throw badCursor();
  return { values, path, extra };
}

/** FNV-1a over a string, for query shapes. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
