/**
 * WriteOps in, batches (WriteOp[]) out, each under the commit request limit:
 * closed by encoded bytes, by count, or before a key repeats. Plain entities
 * are accepted too and become `options.op` (upsert by default), so a parser
 * can feed it directly.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { IEntity } from '../model/proto.js';
import {
  BatchAccumulator, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS, mutationBytes, type WriteOp,
} from '../format/batching.js';

export type { WriteOp } from '../format/batching.js';

export interface BatcherOptions {
  /** Encoded mutation bytes per batch (default 9 MiB: 10 MiB request limit less a margin). */
  maxBytes?: number;
  /** Ops per batch (default 500). */
  maxOps?: number;
  /** The op plain entities become. */
  op?: 'upsert' | 'insert' | 'update';
}

const isOp = (chunk: WriteOp | IEntity): chunk is WriteOp => typeof (chunk as WriteOp).op === 'string';

/** Its readable side carries batches of write ops. */
export interface Batcher {
  [Symbol.asyncIterator](): AsyncIterableIterator<WriteOp[]>;
  // the untyped signature too, so pipeline() still takes it as a NodeJS.ReadableStream
  [Symbol.asyncIterator](): AsyncIterableIterator<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class Batcher extends Transform {
  ops = 0;
  batches = 0;
  /** Encoded mutation bytes of everything batched. */
  bytes = 0;
  private readonly acc: BatchAccumulator;
  private readonly op: 'upsert' | 'insert' | 'update';

  constructor(options: BatcherOptions = {}) {
    // The writer takes the next batch as soon as one of its commits ends: one ready here keeps it fed.
    super({ objectMode: true, writableHighWaterMark: 64, readableHighWaterMark: 1 });
    this.acc = new BatchAccumulator({ maxBytes: options.maxBytes ?? DEFAULT_MAX_BATCH_BYTES, maxOps: options.maxOps ?? DEFAULT_MAX_BATCH_OPS });
    this.op = options.op ?? 'upsert';
  }

  override _transform(chunk: WriteOp | IEntity, _encoding: BufferEncoding, callback: TransformCallback): void {
    const op: WriteOp = isOp(chunk) ? chunk : { op: this.op, entity: chunk };
    const size = mutationBytes(op);
    this.ops++;
    this.bytes += size;
    const batch = this.acc.add(op, size);
    if (batch) this.emit1(batch);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const batch = this.acc.take();
    if (batch) this.emit1(batch);
    callback();
  }

  private emit1(batch: WriteOp[]): void {
    this.batches++;
    this.push(batch);
  }
}

export function createBatcher(options: BatcherOptions = {}): Batcher {
  return new Batcher(options);
}
