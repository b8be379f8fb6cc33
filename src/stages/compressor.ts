/**
 * compressor: NDJSON bytes to a zstd stream (streaming, bounded memory), or a
 * counting pass-through for `--compress none`. The zstd comes from
 * format/zstd.ts — Node's built-in where the runtime has it, zstd-napi
 * otherwise — and is loaded when the first compressor is constructed, never
 * for `none`.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FileCompression } from '../format/file-names.js';
import { loadZstd, type ZstdStream } from '../format/zstd.js';
import { recycleLines } from '../format/wire/line-buffer.js';

export interface CompressorOptions {
  compression?: FileCompression | undefined;
  /** zstd level 1..22 (default 3). */
  level?: number | undefined;
}

export interface Compressor extends Transform {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

class ZstdCompressor extends Transform implements Compressor {
  bytesIn = 0;
  bytesOut = 0;
  private z: ZstdStream | undefined;
  private readonly out = (bytes: Buffer) => {
    this.bytesOut += bytes.length;
    this.push(bytes);
  };

  constructor(private readonly level: number) {
    super();
    if (typeof level !== 'number') throw new TypeError('Invalid type for parameter: compressionLevel');
  }

  override _construct(callback: (error?: Error | null) => void): void {
    loadZstd().then((zstd) => {
      this.z = zstd.compressor(this.level);
      callback();
    }, callback);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    step(
      () => this.z!.write(chunk, this.out),
      (err) => {
        // zstd has taken the bytes in (it copies them into its window): a page of lines can be reused
        if (!err) recycleLines(chunk);
        callback(err);
      },
    );
  }

  override _flush(callback: TransformCallback): void {
    step(() => this.z!.end(this.out), callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.z?.close();
    this.z = undefined;
    callback(err);
  }
}

/** Runs one zstd call, sync or async, and calls back once with its outcome. */
export function step(run: () => void | Promise<void>, callback: (err?: Error | null) => void): void {
  let pending: void | Promise<void>;
  try {
    pending = run();
  } catch (err) {
    return callback(err as Error);
  }
  if (pending === undefined) callback();
  else pending.then(() => callback(), callback);
}

class PlainPassThrough extends Transform implements Compressor {
  bytesIn = 0;
  bytesOut = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    this.bytesOut += chunk.length;
    callback(null, chunk);
  }
}

export function createCompressor(options: CompressorOptions = {}): Compressor {
  if ((options.compression ?? 'zstd') === 'none') return new PlainPassThrough();
  return new ZstdCompressor(options.level ?? 3);
}
