/**
 * compressor: NDJSON bytes to a zstd stream (zstd-napi, streaming, bounded
 * memory), or a counting pass-through for `--compress none`.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { CompressStream } from 'zstd-napi';
import type { FileCompression } from '../format/file-names.js';

export interface CompressorOptions {
  compression?: FileCompression | undefined;
  /** zstd level 1..22 (default 3). */
  level?: number | undefined;
}

export interface Compressor extends Transform {
  readonly bytesIn: number;
  readonly bytesOut: number;
}

class ZstdCompressor extends CompressStream implements Compressor {
  bytesIn = 0;
  bytesOut = 0;

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    super._transform(chunk, encoding, callback);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) this.bytesOut += (chunk as Buffer).length;
    return super.push(chunk, encoding);
  }
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
  // The content checksum lets `zstd -t` and our reader detect a damaged file.
  return new ZstdCompressor({ compressionLevel: options.level ?? 3, checksumFlag: true });
}
