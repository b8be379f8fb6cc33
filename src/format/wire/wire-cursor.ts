/**
 * Reading protobuf wire data that came off the network: every read is
 * bounded by the end of the message it belongs to, and anything malformed (a
 * varint cut short or longer than 10 bytes, a length past the end, a field of
 * the wrong wire type, a group) is a WireFault naming the byte offset, which
 * the transcoders turn into a DspipeError. Never a crash, never a guess.
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

/** Bytes of a non-negative varint (a length or a tag). */
export function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'invalid (6)', 'invalid (7)'];

/** A malformed message; `offset` is the byte it was found at. Not an Error: no stack per fault. */
export class WireFault {
  readonly path: string[] = [];
  constructor(
    readonly message: string,
    readonly offset: number,
  ) {}
}

export class WireCursor {
  buf: Buffer;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** A varint as a number: exact below 2^53, which every tag, length, enum and bool is. */
  uint(end: number): number {
    const buf = this.buf;
    let p = this.pos;
    if (p < end) {
      const b = buf[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= end) throw new WireFault('truncated varint', p);
      const b = buf[p++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = p;
        return result;
      }
      mul *= 128;
    }
    throw new WireFault('varint longer than 10 bytes', this.pos);
  }

  /** A varint as a signed int64, in decimal. */
  int64(end: number): string {
    const start = this.pos;
    const n = this.uint(end);
    if (this.pos - start < 8) return String(n); // under 2^49: exact
    // 8 bytes and more: read again exactly, as two's complement.
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt(this.buf[p]! & 0x7f) << shift;
      shift += 7n;
    }
    return BigInt.asIntN(64, v).toString();
  }

  /** A varint as int32 (negative values come sign-extended to 10 bytes). */
  int32(end: number): number {
    const start = this.pos;
    this.uint(end);
    let lo = 0;
    for (let p = start, shift = 0; p < this.pos && shift < 32; p++, shift += 7) lo |= (this.buf[p]! & 0x7f) << shift;
    return lo | 0;
  }

  double(end: number): number {
    if (this.pos + 8 > end) throw new WireFault('truncated fixed64', this.pos);
    const d = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return d;
  }

  /** Reads a length; returns the end of the body, which starts at `pos`. */
  len(end: number): number {
    const at = this.pos;
    const n = this.uint(end);
    const bodyEnd = this.pos + n;
    if (bodyEnd > end) throw new WireFault(`length ${n} runs past the end of its message`, at);
    return bodyEnd;
  }

  skip(wire: number, end: number): void {
    switch (wire) {
      case VARINT:
        this.uint(end);
        return;
      case FIXED64:
        if (this.pos + 8 > end) throw new WireFault('truncated fixed64', this.pos);
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.len(end);
        return;
      case FIXED32:
        if (this.pos + 4 > end) throw new WireFault('truncated fixed32', this.pos);
        this.pos += 4;
        return;
      default:
        // Datastore's v1 messages are proto3: no groups.
        throw new WireFault(`unexpected wire type ${WIRE_NAMES[wire]}`, this.pos);
    }
  }

  /** A fault for a known field that arrived with another wire type. */
  wrongType(field: number, wire: number, expected: number, message: string): WireFault {
    return new WireFault(`${message} field ${field} has wire type ${WIRE_NAMES[wire]}, expected ${WIRE_NAMES[expected]}`, this.pos);
  }
}
