/**
 * Bytes in, NDJSON bytes out: zstd when the input starts with zstd's magic
 * number (28 B5 2F FD), passed through unchanged otherwise, so restore and
 * `cat` read compressed and plain dumps (and stdin) alike.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { DspipeError, isDspipeError } from '../errors.js';
import { loadZstd, ZstdTruncatedError, type ZstdStream } from '../format/zstd.js';
import { step } from './compressor.js';

const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

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
  private z: ZstdStream | undefined;
  private readonly out = (bytes: Buffer) => {
    this.bytesOut += bytes.length;
    if (this.bytesOut > this.maxBytes) throw this.tooMuch();
    this.push(bytes);
  };

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
      return this.decide(chunk, (err) => (err ? callback(err) : this.feed(chunk, callback)));
    }
    this.feed(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    const finish = (err?: Error | null) => {
      if (err) return callback(err);
      if (this.z === undefined) return callback();
      step(() => this.z!.end(this.out), (e) => callback(e ? this.failure(e) : null));
    };
    if (this.compression !== undefined) return finish();
    const rest = Buffer.concat(this.head);
    this.head = [];
    this.decide(rest, (err) => (err ? callback(err) : this.feed(rest, finish)));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.z?.close();
    this.z = undefined;
    this.head = [];
    callback(err);
  }

  /** Plain or zstd, by the first bytes; zstd is loaded only now, and only for zstd input. */
  private decide(first: Buffer, then: (err?: Error | null) => void): void {
    this.compression = first.length >= MAGIC.length && first.subarray(0, MAGIC.length).equals(MAGIC) ? 'zstd' : 'none';
    if (this.compression === 'none') return then();
    loadZstd().then((zstd) => {
      this.z = zstd.decompressor();
      then();
    }, then);
  }

  private feed(chunk: Buffer, callback: (err?: Error | null) => void): void {
    if (chunk.length === 0) return callback();
    if (this.z === undefined) {
      try {
        this.out(chunk);
      } catch (err) {
        return callback(err as Error);
      }
      return callback();
    }
    step(() => this.z!.write(chunk, this.out), (err) => callback(err ? this.failure(err) : null));
  }

  private failure(err: Error): Error {
    if (isDspipeError(err)) return err;
    if (err instanceof ZstdTruncatedError) return this.corrupt(err.message);
    return this.corrupt(`is not valid zstd data (${err.message})`, err);
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
