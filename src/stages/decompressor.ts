/**
 * Bytes in, NDJSON bytes out: zstd when the input starts with zstd's magic
 * number (28 B5 2F FD), passed through unchanged otherwise, so restore and
 * `cat` read compressed and plain dumps (and stdin) alike.
 */
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { DspipeError } from '../errors.js';
import { OutputSlab } from './output-slab.js';

// the native binding is CommonJS without named ESM exports
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Room for one whole decompressed block. */
const OUT_SIZE = zstd.dStreamOutSize();
/** Decompressed bytes are written one after another into buffers this big and pushed as slices. */
const OUT_BUFFER = 1024 * 1024;

/**
 * Contexts of finished streams, kept for the next file: a context's window
 * buffer is a few MB of external memory to V8, so a fresh one per file costs
 * an allocation, page faults and a full GC every few files.
 */
const idle: ZstdBinding.DCtx[] = [];
const MAX_IDLE = 2;

function giveBack(dctx: ZstdBinding.DCtx): void {
  if (idle.length >= MAX_IDLE) return;
  // drops any unfinished frame: the next user starts clean
  dctx.reset(zstd.ResetDirective.sessionAndParameters);
  idle.push(dctx);
}

export interface DecompressorOptions {
  /** Names the input in errors. */
  file?: string;
  /** Fail as soon as more than this many bytes come out (the manifest's raw bytes): a bomb is never inflated. */
  maxBytes?: number;
}

export class Decompressor extends Transform {
  /** 'zstd' or 'none' once the first bytes have been seen. */
  compression: 'zstd' | 'none' | undefined;
  bytesIn = 0;
  bytesOut = 0;
  private readonly file: string | undefined;
  private readonly maxBytes: number;
  private head: Buffer[] = [];
  private headBytes = 0;
  private dctx: ZstdBinding.DCtx | undefined;
  private inFrame = false;
  private readonly out = new OutputSlab(OUT_BUFFER, OUT_SIZE);

  constructor(options: DecompressorOptions = {}) {
    super();
    this.file = options.file;
    this.maxBytes = options.maxBytes ?? Infinity;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    if (this.compression === undefined) {
      // the magic may arrive split across chunks: hold bytes until four are here
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes < MAGIC.length) return callback();
      chunk = Buffer.concat(this.head);
      this.head = [];
      this.decide(chunk);
    }
    callback(this.feed(chunk));
  }

  override _flush(callback: TransformCallback): void {
    if (this.compression === undefined) {
      const rest = Buffer.concat(this.head);
      this.head = [];
      this.decide(rest);
      const err = this.feed(rest);
      if (err) return callback(err);
    }
    if (this.inFrame) return callback(this.corrupt('ends in the middle of a zstd frame (the file is truncated)'));
    this.release();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    this.head = [];
    callback(err);
  }

  private decide(first: Buffer): void {
    this.compression = first.length >= MAGIC.length && first.subarray(0, MAGIC.length).equals(MAGIC) ? 'zstd' : 'none';
    if (this.compression === 'zstd') this.dctx = idle.pop() ?? new zstd.DCtx();
  }

  private release(): void {
    if (this.dctx !== undefined) giveBack(this.dctx);
    this.dctx = undefined;
    this.out.release();
  }

  private feed(chunk: Buffer): Error | undefined {
    if (chunk.length === 0) return undefined;
    if (this.compression === 'none') {
      this.bytesOut += chunk.length;
      if (this.bytesOut > this.maxBytes) return this.tooMuch();
      this.push(chunk);
      return undefined;
    }
    const dctx = this.dctx!;
    try {
      let src = chunk;
      for (;;) {
        const room = this.out.room();
        const [remaining, produced, consumed] = dctx.decompressStream(room, src);
        if (produced > 0) {
          this.bytesOut += produced;
          if (this.bytesOut > this.maxBytes) return this.tooMuch();
          this.push(this.out.take(produced));
        }
        src = src.subarray(consumed);
        this.inFrame = remaining !== 0;
        if (src.length === 0 && (produced < room.length || remaining === 0)) return undefined;
      }
    } catch (cause) {
      return this.corrupt(`is not valid zstd data (${(cause as Error).message})`, cause);
    }
  }

  private tooMuch(): DspipeError {
    return this.corrupt(`holds more than the ${this.maxBytes} bytes the manifest records (damaged, or not the file that was dumped)`);
  }

  private corrupt(what: string, cause?: unknown): DspipeError {
    return new DspipeError('DSPIPE_CORRUPT_DUMP', `compressed input ${what}`, {
      ...(this.file !== undefined && { file: this.file }),
      hint: 'the file is damaged; dump again, or restore from another dump',
      ...(cause !== undefined && { cause }),
    });
  }
}

export function createDecompressor(options: DecompressorOptions = {}): Decompressor {
  return new Decompressor(options);
}
