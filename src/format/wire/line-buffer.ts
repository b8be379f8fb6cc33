/**
 * The output side of the RunQuery transcoder: dump-line JSON written as UTF-8
 * bytes straight into one growing buffer, with the same escapes
 * `JSON.stringify` makes (so a line is byte for byte what entity-codec.ts
 * writes), and without ever making a JS string of a property value.
 */
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

/**
 * What jsonString does with each byte: 0 copy it, 1 escape it, 2..4 the
 * length of the UTF-8 sequence it starts, 5 no valid sequence starts with it
 * (a continuation byte, C0/C1, F5..FF).
 */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  CLASS[c] = ESCAPES[c] !== undefined ? 1 : c < 0x80 ? 0 : c < 0xc2 ? 5 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 5;
}

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');

/**
 * Pages of lines are handed downstream without a copy, in buffers that come
 * back (recycleLines) once the bytes are consumed: a fresh ~300 KB buffer per
 * page of ~300 entities was most of the dump's external memory, and so of its
 * full garbage collections (V8 starts one per ~64 MB of new external memory).
 * Buffers never given back are simply collected.
 */
const lent = new WeakSet<ArrayBuffer>();
const free: Buffer[] = [];
/** Buffers kept for reuse, at most. */
const MAX_FREE = 16;

/**
 * Gives back a page of lines (or a part of one) that LineBuffer#takeLines
 * handed out, once nothing reads it any more; anything else, or a page given
 * back before, is ignored.
 */
export function recycleLines(b: Buffer): void {
  const ab = b.buffer;
  if (!lent.delete(ab as ArrayBuffer)) return;
  if (free.length < MAX_FREE) free.push(Buffer.from(ab, 0, ab.byteLength));
}

export class LineBuffer extends GrowableBuffer {
  constructor(initial = 256 * 1024) {
    super(0);
    // never a slice of Buffer's shared pool: takeLines lends out the whole allocation
    this.buf = Buffer.allocUnsafeSlow(initial);
  }

  protected override ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * Everything written, as a Buffer that is this one's memory (no copy); the
   * buffer starts over in memory given back by recycleLines, or new memory
   * about the size of this page.
   */
  takeLines(): Buffer {
    // a page much smaller than the buffer (a query's last) is copied: it would hold all of it
    if (this.pos < this.buf.length >>> 2) {
      const small = this.copyFrom(0);
      this.pos = 0;
      return small;
    }
    const lines = this.buf.subarray(0, this.pos);
    lent.add(this.buf.buffer as ArrayBuffer);
    const want = Math.max(64 * 1024, this.pos + (this.pos >>> 3));
    let next: Buffer | undefined;
    while ((next = free.pop()) !== undefined && next.length < want);
    this.buf = next ?? Buffer.allocUnsafeSlow(Math.ceil(want / 65536) * 65536);
    this.pos = 0;
    return lines;
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
   * would write it. UTF-8 is validated while copying (the rules of the WHATWG
   * decoder Buffer#toString uses: no overlong forms, no surrogates, nothing
   * over U+10FFFF); bytes that are not valid UTF-8 become U+FFFD the way
   * Buffer#toString (and protobufjs, which uses it) decodes them.
   */
  jsonString(src: Buffer, start: number, end: number): void {
    this.ensure((end - start) * 6 + 2);
    const buf = this.buf;
    const begin = this.pos;
    let p = begin;
    buf[p++] = 0x22;
    let i = start;
    while (i < end) {
      const c = src[i]!;
      const k = CLASS[c]!;
      if (k === 0) {
        buf[p++] = c;
        i++;
      } else if (k === 1) {
        const e = ESCAPES[c]!;
        for (let j = 0; j < e.length; j++) buf[p++] = e[j]!;
        i++;
      } else {
        // k = the sequence's length (2..4); 5: a byte no valid sequence starts with
        if (k === 5 || i + k > end) break;
        const c1 = src[i + 1]!;
        if ((c1 & 0xc0) !== 0x80) break;
        if (k === 2) {
          buf[p++] = c;
          buf[p++] = c1;
          i += 2;
          continue;
        }
        const c2 = src[i + 2]!;
        if ((c2 & 0xc0) !== 0x80) break;
        if (k === 3) {
          // E0 needs A0..BF (no overlong), ED needs 80..9F (no surrogates)
          if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) break;
          buf[p++] = c;
          buf[p++] = c1;
          buf[p++] = c2;
          i += 3;
          continue;
        }
        const c3 = src[i + 3]!;
        // F0 needs 90..BF (no overlong), F4 needs 80..8F (nothing over U+10FFFF)
        if ((c3 & 0xc0) !== 0x80 || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) break;
        buf[p++] = c;
        buf[p++] = c1;
        buf[p++] = c2;
        buf[p++] = c3;
        i += 4;
      }
    }
    if (i < end) {
      // not valid UTF-8: what the object path's decoding makes of it
      this.pos = begin;
      this.utf8(JSON.stringify(src.toString('utf8', start, end)));
      return;
    }
    buf[p++] = 0x22;
    this.pos = p;
  }

  /** A non-negative integer below 2^53 in decimal, without making a string. */
  digits(n: number): void {
    this.ensure(16);
    const buf = this.buf;
    if (n < 10) {
      buf[this.pos++] = 48 + n;
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    let v = n;
    while (v >= 0x80000000) {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - q * 10);
      v = q;
    }
    let w = v | 0;
    while (w >= 10) {
      const q = (w / 10) | 0;
      buf[--p] = 48 + (w - q * 10);
      w = q;
    }
    buf[--p] = 48 + w;
  }

  /** Two decimal digits of 0..99. */
  twoDigits(n: number): void {
    this.ensure(2);
    const q = (n / 10) | 0;
    this.buf[this.pos++] = 48 + q;
    this.buf[this.pos++] = 48 + (n - q * 10);
  }

  /** src[start, end) in standard base64 with padding, as Buffer#toString('base64') writes it. */
  base64(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n > 1024) {
      this.ascii(src.toString('base64', start, end));
      return;
    }
    this.ensure(((n + 2) / 3) * 4 + 4);
    const buf = this.buf;
    let p = this.pos;
    let i = start;
    for (const last = end - 2; i < last; i += 3) {
      const t = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
      buf[p++] = B64[t >>> 18]!;
      buf[p++] = B64[(t >>> 12) & 63]!;
      buf[p++] = B64[(t >>> 6) & 63]!;
      buf[p++] = B64[t & 63]!;
    }
    if (end - i === 1) {
      const t = src[i]! << 16;
      buf[p++] = B64[t >>> 18]!;
      buf[p++] = B64[(t >>> 12) & 63]!;
      buf[p++] = 0x3d;
      buf[p++] = 0x3d;
    } else if (end - i === 2) {
      const t = (src[i]! << 16) | (src[i + 1]! << 8);
      buf[p++] = B64[t >>> 18]!;
      buf[p++] = B64[(t >>> 12) & 63]!;
      buf[p++] = B64[(t >>> 6) & 63]!;
      buf[p++] = 0x3d;
    }
    this.pos = p;
  }

  /** The bytes written since `start`, copied (into memory that is not zeroed first: every byte is written). */
  copyFrom(start: number): Buffer {
    const out = Buffer.allocUnsafe(this.pos - start);
    this.buf.copy(out, 0, start, this.pos);
    return out;
  }
}

/** Constant JSON text as bytes for LineBuffer#put. */
export const lit = (s: string): Buffer => Buffer.from(s, 'utf8');
