/**
 * LevelDB log framing, as `gcloud datastore export` writes its
 * `.overall_export_metadata` and `output-N` files (MANAGED-EXPORT-FORMAT.md §2).
 *
 * A file is a run of 32 KiB blocks (the last may be short). A physical
 * record is a 7-byte header — masked CRC-32C of type byte + data (uint32 LE),
 * data length (uint16 LE), type (1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST) — and its
 * data, never crossing a block. A logical record is one FULL or FIRST
 * MIDDLE* LAST. Fewer than 7 bytes left in a block are zero (the trailer).
 *
 * Both halves are incremental and pure: the writer turns one logical record
 * into the bytes to append, the reader takes chunks as they arrive and hands
 * out whole records, so neither ever holds more than a block plus the record
 * being assembled.
 */
import { DspipeError } from '../../errors.js';
import { crc32c, maskCrc, unmaskCrc } from './crc32c.js';

export const BLOCK_SIZE = 32768;
export const HEADER_SIZE = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

const TYPE_BYTE = [new Uint8Array([0]), new Uint8Array([FULL]), new Uint8Array([FIRST]), new Uint8Array([MIDDLE]), new Uint8Array([LAST])];

function recordCrc(type: number, data: Uint8Array, start: number, end: number): number {
  return crc32c(data, crc32c(TYPE_BYTE[type]!), start, end);
}

/** Frames logical records one after another, as Google's writer does, byte for byte. */
export class LogWriter {
  /** Offset inside the current block. */
  private blockOffset = 0;
  /** Bytes framed so far (the file's size once they are written). */
  bytes = 0;

  /** The bytes to append to the file for one logical record (trailer padding included). */
  frame(record: Uint8Array): Buffer {
    const len = record.length;
    // Worst case: a header per block touched, plus one block's trailer.
    const out = Buffer.allocUnsafe(len + HEADER_SIZE * (Math.ceil((len + this.blockOffset) / (BLOCK_SIZE - HEADER_SIZE)) + 2) + HEADER_SIZE);
    let o = 0;
    let pos = 0;
    let first = true;
    do {
      const avail = BLOCK_SIZE - this.blockOffset - HEADER_SIZE;
      const n = Math.min(len - pos, avail);
      const end = pos + n === len;
      const type = first ? (end ? FULL : FIRST) : end ? LAST : MIDDLE;
      out.writeUInt32LE(maskCrc(recordCrc(type, record, pos, pos + n)), o);
      out.writeUInt16LE(n, o + 4);
      out[o + 6] = type;
      out.set(record.subarray(pos, pos + n), o + HEADER_SIZE);
      o += HEADER_SIZE + n;
      pos += n;
      this.blockOffset += HEADER_SIZE + n;
      first = false;
      const left = BLOCK_SIZE - this.blockOffset;
      if (left < HEADER_SIZE) {
        out.fill(0, o, o + left);
        o += left;
        this.blockOffset = 0;
      }
    } while (pos < len);
    this.bytes += o;
    return out.subarray(0, o);
  }
}

/** Frames whole records into one buffer (small files: the overall metadata). */
export function frameRecords(records: readonly Uint8Array[]): Buffer {
  const w = new LogWriter();
  return Buffer.concat(records.map((r) => w.frame(r)));
}

export type RecordHandler = (record: Buffer, offset: number) => void;

/**
 * Reads records back, checking every CRC, every header and the fragment
 * order. Errors are DSPIPE_CORRUPT_DUMP naming the file and the byte offset.
 */
export class LogReader {
  private pending: Buffer = Buffer.alloc(0);
  /** File offset of pending[0]; always a block boundary. */
  private base = 0;
  private fragments: Buffer[] | undefined;
  private fragmentStart = 0;
  private ended = false;

  constructor(readonly file: string) {}

  private fail(offset: number, what: string, hint?: string): never {
    throw new DspipeError('DSPIPE_CORRUPT_DUMP', `${what} at byte ${offset}`, {
      file: this.file,
      hint: hint ?? 'the export file is damaged or incomplete: copy it again from the bucket (gcloud storage cp -r) or make a new export',
    });
  }

  /** Feeds the next bytes of the file; `onRecord` gets each logical record completed by them. */
  push(chunk: Buffer, onRecord: RecordHandler): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    while (buf.length - at >= BLOCK_SIZE) {
      this.block(buf, at, at + BLOCK_SIZE, false, onRecord);
      at += BLOCK_SIZE;
      this.base += BLOCK_SIZE;
    }
    // Keep the tail as a copy so that the chunk it came from can be freed.
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    buf = this.pending;
  }

  /** The end of the file: reads the short last block and refuses a record cut off in the middle. */
  end(onRecord: RecordHandler): void {
    if (this.ended) return;
    this.ended = true;
    if (this.pending.length > 0) this.block(this.pending, 0, this.pending.length, true, onRecord);
    if (this.fragments !== undefined) this.fail(this.fragmentStart, 'file ends inside a record (FIRST without LAST): the file is truncated');
  }

  private zeroes(buf: Buffer, from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
    return true;
  }

  private block(buf: Buffer, start: number, end: number, short: boolean, onRecord: RecordHandler): void {
    let pos = start;
    while (pos < end) {
      const offset = this.base + (pos - start);
      const left = end - pos;
      if (left < HEADER_SIZE) {
        if (!this.zeroes(buf, pos, end)) {
          this.fail(offset, short ? 'file ends inside a record header: the file is truncated or has garbage at its end' : 'non-zero bytes in a block trailer');
        }
        return;
      }
      const masked = buf.readUInt32LE(pos);
      const len = buf.readUInt16LE(pos + 4);
      const type = buf[pos + 6]!;
      if (type === 0 && len === 0 && masked === 0) {
        if (!this.zeroes(buf, pos, end)) this.fail(offset, 'non-zero bytes after a zero (padding) header');
        return;
      }
      if (type < FULL || type > LAST) this.fail(offset, `unknown record type ${type}`);
      const dataStart = pos + HEADER_SIZE;
      if (dataStart + len > end) {
        this.fail(offset, short ? `record of ${len} bytes runs past the end of the file: the file is truncated` : `record of ${len} bytes runs past the end of its block`);
      }
      const crc = recordCrc(type, buf, dataStart, dataStart + len);
      if (crc !== unmaskCrc(masked)) this.fail(offset, 'checksum mismatch (CRC-32C)');
      const data = buf.subarray(dataStart, dataStart + len);
      if (type === FULL || type === FIRST) {
        if (this.fragments !== undefined) this.fail(offset, `${type === FULL ? 'FULL' : 'FIRST'} record inside a fragmented record`);
        if (type === FULL) onRecord(data, offset);
        else {
          this.fragments = [Buffer.from(data)];
          this.fragmentStart = offset;
        }
      } else {
        if (this.fragments === undefined) this.fail(offset, `${type === MIDDLE ? 'MIDDLE' : 'LAST'} record without a FIRST`);
        this.fragments.push(Buffer.from(data));
        if (type === LAST) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = undefined;
          onRecord(whole, this.fragmentStart);
        }
      }
      pos = dataStart + len;
    }
  }
}

/** All records of a whole file held in memory (small files: the overall metadata). */
export function readRecords(bytes: Buffer, file: string): Buffer[] {
  const out: Buffer[] = [];
  const r = new LogReader(file);
  const take = (rec: Buffer) => out.push(Buffer.from(rec));
  r.push(bytes, take);
  r.end(take);
  return out;
}
