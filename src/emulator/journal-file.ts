/**
 * The framing of the emulator's data files (durable.ts): an 8-byte magic,
 * then records of `u32 length | u32 crc32(payload) | payload`, little-endian.
 * A payload is `u32 headerLength | header JSON | body`, the body being
 * protobuf (a LookupResponse of the entities the record carries).
 *
 * Reading tells a torn tail from corruption: a record that runs past the end
 * of the file, or whose checksum fails and which ends exactly at the end of
 * the file, is what a crash in the middle of an append leaves (torn); a bad
 * record with more data after it can only be damage (corrupt).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

export const LOG_MAGIC = Buffer.from('DSPLOG1\n');
export const SNAPSHOT_MAGIC = Buffer.from('DSPSNP1\n');

export interface RecordHeader {
  [field: string]: unknown;
}

export function frame(header: RecordHeader, body: Uint8Array = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(12 + json.length + body.length);
  const payloadLength = 4 + json.length + body.length;
  out.writeUInt32LE(payloadLength, 0);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  out.set(body, 12 + json.length);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

export interface ReadRecord {
  header: RecordHeader;
  body: Buffer;
  offset: number;
}

export type ReadEnd =
  | { kind: 'clean'; size: number }
  | { kind: 'torn'; offset: number; size: number }
  | { kind: 'corrupt'; offset: number; why: string };

/** Bytes read from a data file at a time: a restart never holds more of a file than this (or one record). */
const READ_CHUNK = 8 * 1024 * 1024;

/**
 * Hands each record of a file to `visit`, in order, reading it a chunk at a
 * time (a million-entity snapshot is ~1 GB), and says how the file ends.
 * A record's body is a view into the chunk: `visit` copies what it keeps.
 */
export async function forEachRecord(file: string, magic: Buffer, visit: (record: ReadRecord) => void): Promise<ReadEnd> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    /** Bytes [from, from + n) of the file (fewer at its end). */
    const bytes = async (from: number, n: number): Promise<Buffer> => {
      if (from >= bufStart && from + n <= bufStart + buf.length) return buf.subarray(from - bufStart, from - bufStart + n);
      const len = Math.max(0, Math.min(Math.max(n, READ_CHUNK), size - from));
      const next = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await handle.read(next, got, len - got, from + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      buf = next.subarray(0, got);
      bufStart = from;
      return buf.subarray(0, Math.min(n, got));
    };
    const head = await bytes(0, magic.length);
    if (size < magic.length) {
      // A file cut off before its magic was complete holds nothing acknowledged.
      return magic.subarray(0, size).equals(head) ? { kind: 'torn', offset: 0, size } : { kind: 'corrupt', offset: 0, why: 'not a dspipe emulator data file' };
    }
    if (!head.equals(magic)) return { kind: 'corrupt', offset: 0, why: 'not a dspipe emulator data file (bad magic)' };
    let at = magic.length;
    while (at < size) {
      if (size - at < 8) return { kind: 'torn', offset: at, size };
      const prefix = await bytes(at, 8);
      const length = prefix.readUInt32LE(0);
      const sum = prefix.readUInt32LE(4);
      const end = at + 8 + length;
      if (end > size) return { kind: 'torn', offset: at, size };
      const payload = await bytes(at + 8, length);
      if (crc32(payload) !== sum || length < 4) {
        if (end === size) return { kind: 'torn', offset: at, size };
        return { kind: 'corrupt', offset: at, why: 'record checksum mismatch' };
      }
      const headerLength = payload.readUInt32LE(0);
      let header: RecordHeader;
      try {
        header = JSON.parse(payload.subarray(4, 4 + headerLength).toString('utf8')) as RecordHeader;
      } catch {
        return { kind: 'corrupt', offset: at, why: 'record header is not JSON' };
      }
      visit({ header, body: payload.subarray(4 + headerLength), offset: at });
      at = end;
    }
    return { kind: 'clean', size };
  } finally {
    await handle.close();
  }
}

/**
 * An append-only file whose appends are made durable in groups: every append
 * waits for the fsync that covers it, and appends arriving while one fsync is
 * running share the next one.
 */
export class GroupWriter {
  private queue: Buffer[] = [];
  private waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running: Promise<void> | undefined;
  private failed: unknown;
  bytes: number;

  private constructor(
    private readonly handle: FileHandle,
    size: number,
  ) {
    this.bytes = size;
  }

  /** Opens `file` for appending, writing `magic` first if it is new or empty. */
  static async open(file: string, magic: Buffer): Promise<GroupWriter> {
    const handle = await open(file, 'a');
    const { size } = await handle.stat();
    const writer = new GroupWriter(handle, size);
    if (size === 0) await writer.append(magic);
    return writer;
  }

  append(buffer: Buffer): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    this.queue.push(buffer);
    this.bytes += buffer.length;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.running ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const buffers = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.waiters = [];
      try {
        await this.handle.writev(buffers);
        await this.handle.datasync();
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.failed = err;
        for (const w of [...waiters, ...this.waiters]) w.reject(err);
        this.waiters = [];
        this.queue = [];
      }
    }
    this.running = undefined;
  }

  /** Waits for every append so far to be durable. */
  async flush(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }
}
