/**
 * compressor: NDJSON bytes to a zstd stream (zstd-napi's binding, streaming,
 * bounded memory), or a counting pass-through for `--compress none`.
 *
 * Driven through the binding rather than zstd-napi's CompressStream: that one
 * allocates a fresh 128 KiB output Buffer for every block it emits (~30 KiB of
 * it used at our ratios) and a fresh context per stream; those allocations and
 * their GC were most of the gap to one-shot compression. Here blocks are
 * written one after another into a shared 1 MiB buffer and pushed as slices
 * of it, and contexts are reused.
 */
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import type { FileCompression } from '../format/file-names.js';
import { OutputSlab } from './output-slab.js';

// the native binding is CommonJS without named ESM exports
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;
/** Room zstd wants to compress a whole block straight into our buffer. */
const OUT_SIZE = zstd.cStreamOutSize();
/**
 * Many compressed blocks (~30 KiB each for NDJSON) share one allocation: each
 * allocation of a pushed buffer cost more than its size suggests (bench/stages
 * compressor small: 0.75 of one-shot with 140 KB buffers, 0.82 with 2 MB).
 */
const OUT_BUFFER = 1024 * 1024;
const NOTHING = Buffer.alloc(0);

/**
 * Contexts of finished streams, kept for the next compressor: a context holds
 * a few MB (window and match tables), reported to V8 as external memory, so a
 * fresh one per file costs its allocation, page faults and a full GC every few
 * files. Two cover a dump's files written one after another per writer; more
 * idle ones are left to the GC.
 */
const idle: ZstdBinding.CCtx[] = [];
const MAX_IDLE = 2;

function takeContext(level: number): ZstdBinding.CCtx {
  const cctx = idle.pop() ?? new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, level);
  // The content checksum lets `zstd -t` and our reader detect a damaged file.
  cctx.setParameter(zstd.CParameter.checksumFlag, 1);
  return cctx;
}

function giveBack(cctx: ZstdBinding.CCtx): void {
  if (idle.length >= MAX_IDLE) return;
  // drops any unfinished frame and the parameters: the next user starts clean
  cctx.reset(zstd.ResetDirective.sessionAndParameters);
  idle.push(cctx);
}

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
  private cctx: ZstdBinding.CCtx | undefined;
  private readonly out = new OutputSlab(OUT_BUFFER, OUT_SIZE);

  constructor(level: number) {
    super();
    if (typeof level !== 'number') throw new TypeError('Invalid type for parameter: compressionLevel');
    this.cctx = takeContext(level);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    try {
      this.compress(chunk, zstd.EndDirective.continue);
    } catch (err) {
      return callback(err as Error);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.compress(NOTHING, zstd.EndDirective.end);
    } catch (err) {
      return callback(err as Error);
    }
    this.release();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(err);
  }

  private release(): void {
    if (this.cctx !== undefined) giveBack(this.cctx);
    this.cctx = undefined;
    this.out.release();
  }

  private compress(src: Buffer, end: ZstdBinding.EndDirective): void {
    const cctx = this.cctx;
    if (cctx === undefined) throw new Error('the compressor was already finished or destroyed');
    for (;;) {
      const [remaining, produced, consumed] = cctx.compressStream2(this.out.room(), src, end);
      if (produced > 0) {
        this.bytesOut += produced;
        this.push(this.out.take(produced));
      }
      src = src.subarray(consumed);
      if (src.length === 0 && (end === zstd.EndDirective.continue || remaining === 0)) return;
    }
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
  return new ZstdCompressor(options.level ?? 3);
}
