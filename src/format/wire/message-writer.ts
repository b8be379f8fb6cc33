/**
 * A protobuf message writer into one growing buffer: varints, int64 from
 * decimal strings, length-delimited fields written in place (one byte kept
 * for the length, the body moved only when it needs more). Shared by the
 * emulator's response encoder and the wire fast path's Mutation encoder.
 */
import { GrowableBuffer } from '../growable-buffer.js';

export class MessageWriter extends GrowableBuffer {
  constructor(initial = 64 * 1024) {
    super(initial);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    while (n > 0x7f) {
      buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.pos++] = n;
  }

  /** An int64 given as a decimal string (negative ones as 10-byte two's complement). */
  int64(s: string): void {
    const n = Number(s);
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return this.varint(n);
    let b = BigInt(s);
    if (b < 0n) b += 1n << 64n;
    this.ensure(10);
    while (b > 0x7fn) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  string(field: number, s: string): void {
    this.tag(field, 2);
    if (s.length < 43) {
      // At most 3 UTF-8 bytes per UTF-16 unit: under 128 bytes, so a one-byte length; write in one pass.
      this.ensure(1 + 3 * s.length);
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(field: number, b: Uint8Array | string): void {
    const data = typeof b === 'string' ? Buffer.from(b, 'base64') : b;
    this.tag(field, 2);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** src[a, e) as they are (short runs by a loop: a native copy costs more than the bytes). */
  copyFrom(src: Uint8Array, a: number, e: number): void {
    const n = e - a;
    this.ensure(n);
    const buf = this.buf;
    if (n < 64) {
      let o = this.pos;
      for (let i = a; i < e; i++) buf[o++] = src[i]!;
      this.pos = o;
    } else {
      buf.set(src.subarray(a, e), this.pos);
      this.pos += n;
    }
  }

  double(field: number, d: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(d, this.pos);
  }

  /** Starts a length-delimited sub-message; returns the mark to pass to end(). */
  begin(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends a sub-message: writes its length, moving the body when the length takes more than a byte. */
  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 128) {
      this.buf[mark] = len;
      return;
    }
    let extra = 0;
    for (let n = len; n > 0x7f; n = Math.floor(n / 128)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    let n = len;
    let p = mark;
    while (n > 0x7f) {
      this.buf[p++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[p] = n;
    this.pos += extra;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
