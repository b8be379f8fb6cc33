/**
 * Protobuf wire primitives for the export codec: varints (int64 as decimal
 * strings, negatives as 10-byte two's complement), fixed64 doubles,
 * length-delimited fields and proto2 groups. Hand-written so that a 1 MiB
 * string field is one copy and field order is exactly ours.
 */
import { DspipeError } from '../../errors.js';
import { GrowableBuffer } from '../growable-buffer.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** A growable output buffer. Length-delimited fields are written in place and shifted once their size is known. */
export class ProtoWriter extends GrowableBuffer {
  constructor(initial = 1024) {
    super(initial);
  }

  private room(n: number): void {
    this.ensure(n);
  }

  /** A varint of a non-negative number below 2^53. */
  uint(n: number): void {
    this.room(10);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  tag(field: number, wire: number): void {
    this.uint(field * 8 + wire);
  }

  /** An int64 varint from a decimal string, number or bigint. */
  int64(v: string | number | bigint): void {
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return this.uint(v);
    if (typeof v === 'string' && v.length < 16 && v.charCodeAt(0) !== 45) return this.uint(Number(v));
    let b = BigInt.asUintN(64, BigInt(v));
    this.room(10);
    while (b > 0x7fn) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  double(d: number): void {
    this.room(8);
    this.buf.writeDoubleLE(d, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.uint(n);
    this.room(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  /** Starts a length-delimited body; pass the result to `endLen`. */
  beginLen(): number {
    return this.pos;
  }

  /** Ends a body begun with `beginLen`: moves it right to make room for its length varint. */
  endLen(start: number): void {
    const len = this.pos - start;
    let size = 1;
    for (let n = len; n > 0x7f; n = Math.floor(n / 128)) size++;
    this.room(size);
    this.buf.copyWithin(start + size, start, this.pos);
    let p = start;
    let n = len;
    while (n > 0x7f) {
      this.buf[p++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[p] = n;
    this.pos += size;
  }

  /** The bytes written (a view of the buffer, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of the bytes written. */
  finish(): Buffer {
    return Buffer.from(this.view());
  }

  reset(): void {
    this.pos = 0;
  }
}

/** Thrown by ProtoReader; callers turn it into a DspipeError that names the file and record. */
export class WireError extends Error {}

/** Reads fields of one message from `buf[pos, end)`. */
export class ProtoReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number; exact below 2^53, which every tag, length and enum is. */
  uint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** A varint as a signed int64 decimal string. */
  int64(): string {
    const start = this.pos;
    let lo = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return String(lo >>> 0);
    }
    // Longer than 4 bytes: the slow, exact way.
    this.pos = start;
    let v = 0n;
    let s = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << s;
      if (b < 0x80) return BigInt.asIntN(64, v).toString();
      s += 7n;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  bool(): boolean {
    return this.uint() !== 0;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireError('truncated fixed64');
    const d = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return d;
  }

  /** The [start, end) of a length-delimited field's body; the reader moves past it. */
  len(): [number, number] {
    const n = this.uint();
    const start = this.pos;
    if (start + n > this.end) throw new WireError('length-delimited field runs past its message');
    this.pos = start + n;
    return [start, start + n];
  }

  bytes(): Buffer {
    const [s, e] = this.len();
    return this.buf.subarray(s, e);
  }

  string(): string {
    const [s, e] = this.len();
    return this.buf.toString('utf8', s, e);
  }

  /** Skips a field of the given wire type (groups to their matching end). */
  skip(wire: number, field: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.uint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw new WireError('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.len();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) throw new WireError('truncated fixed32');
        this.pos += 4;
        return;
      case WIRE_START_GROUP:
        for (;;) {
          if (this.done()) throw new WireError(`group ${field} has no end`);
          const t = this.uint();
          if (t % 8 === WIRE_END_GROUP) {
            if (t >>> 3 !== field) throw new WireError(`group ${field} ended by group ${t >>> 3}`);
            return;
          }
          this.skip(t % 8, Math.floor(t / 8));
        }
      default:
        throw new WireError(`invalid wire type ${wire}${field === 0 ? ' (field 0: not a protobuf message)' : ''}`);
    }
  }
}

/** A WireError (or any error) as the DSPIPE_CORRUPT_DUMP a user sees. */
export function corruptRecord(err: unknown, file: string, offset: number, what: string): unknown {
  if (err instanceof DspipeError) return err;
  return new DspipeError('DSPIPE_CORRUPT_DUMP', `${what} at byte ${offset} is not valid: ${(err as Error).message}`, {
    file,
    hint: 'the export file is damaged, or is not a Datastore managed export',
    cause: err,
  });
}
