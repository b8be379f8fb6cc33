/**
 * The output side of the RunQuery transcoder: dump-line JSON written as UTF-8
 * bytes straight into one growing buffer, with the same escapes
 * `JSON.stringify` makes (so a line is byte for byte what entity-codec.ts
 * writes), and without ever making a JS string of a property value.
 */
import { isUtf8 } from 'node:buffer';
import { GrowableBuffer } from '../growable-buffer.js';

const HEX = '0123456789abcdef';

/** The escape JSON.stringify writes for each byte below 0x20, '"' and '\\'; undefined for bytes copied as they are. */
const ESCAPES: Array<Buffer | undefined> = new Array(256).fill(undefined);
for (let c = 0; c < 0x20; c++) ESCAPES[c] = Buffer.from('\\u00' + HEX[c >> 4]! + HEX[c & 15]!, 'latin1');
ESCAPES[0x08] = Buffer.from('\\b');
ESCAPES[0x09] = Buffer.from('\\t');
ESCAPES[0x0a] = Buffer.from('\\n');
ESCAPES[0x0c] = Buffer.from('\\f');
ESCAPES[0x0d] = Buffer.from('\\r');
ESCAPES[0x22] = Buffer.from('\\"');
ESCAPES[0x5c] = Buffer.from('\\\\');

export class LineBuffer extends GrowableBuffer {
  constructor(initial = 256 * 1024) {
    super(initial);
  }

  room(n: number): void {
    this.ensure(n);
  }

  /** Constant text prepared with `lit()`. */
  put(b: Buffer): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    if (n < 24) for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    else {
      buf.set(b, p);
      p += n;
    }
    this.pos = p;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  /** ASCII text (numbers, base64, timestamps). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    if (n > 64) {
      // a blob's base64: one native copy
      this.pos += this.buf.write(s, this.pos, n, 'latin1');
      return;
    }
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any JS string as UTF-8. */
  utf8(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /**
   * The UTF-8 string src[start, end) as a JSON string literal, quotes
   * included, exactly as JSON.stringify(src.toString('utf8', start, end))
   * would write it: bytes that are not valid UTF-8 become U+FFFD the way
   * Buffer#toString (and protobufjs, which uses it) decodes them.
   */
  jsonString(src: Buffer, start: number, end: number): void {
    this.ensure((end - start) * 6 + 2);
    const buf = this.buf;
    const begin = this.pos;
    let p = begin;
    let high = false;
    buf[p++] = 0x22;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c >= 0x80) {
        high = true;
        buf[p++] = c;
      } else if (c >= 0x20 && c !== 0x22 && c !== 0x5c) buf[p++] = c;
      else {
        const e = ESCAPES[c]!;
        for (let j = 0; j < e.length; j++) buf[p++] = e[j]!;
      }
    }
    buf[p++] = 0x22;
    this.pos = p;
    if (high && !isUtf8(src.subarray(start, end))) {
      this.pos = begin;
      this.utf8(JSON.stringify(src.toString('utf8', start, end)));
    }
  }

  /** The bytes written since `start`, copied. */
  copyFrom(start: number): Buffer {
    return Buffer.from(this.buf.subarray(start, this.pos));
  }
}

/** Constant JSON text as bytes for LineBuffer#put. */
export const lit = (s: string): Buffer => Buffer.from(s, 'utf8');
