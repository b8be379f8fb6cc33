/**
 * rejectsSink: the entities Datastore refused (restore with `--on-error
 * skip`), one NDJSON line each —
 *
 *   {"error":{"code","message","key"},"namespace","kind","entity"}
 *
 * — into a file that appears whole or not at all: the bytes go through a
 * fileSink (temp file beside the target, fsync, rename), opened at the first
 * reject, so a restore that rejects nothing leaves no file behind. Destroy
 * removes the temp file. Every kind of a restore writes to the same sink;
 * `add()` settles once the line is in the file, so a full disk fails the
 * write that met it.
 */
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DspipeError } from '../errors.js';
import { opKey, type WriteOp } from '../format/batching.js';
import { encodeEntity } from '../format/entity-codec.js';
import { createFileSink, type FileSink } from './file-sink.js';

export interface Reject {
  op: WriteOp;
  error: DspipeError;
  /** Where the entity came from in the dump (before any --namespace-map). */
  namespace: string;
  kind: string;
}

export interface RejectsSink extends Writable {
  readonly path: string;
  /** Rejects written so far. */
  readonly count: number;
  /** `path` once the sink has finished with at least one reject in it; undefined before and without. */
  readonly file: string | undefined;
  /** Writes one reject; settles once it is taken (entityWriter's onRejected waits for it). */
  add(reject: Reject): Promise<void>;
}

export function formatReject(reject: Reject): string {
  const { op, error } = reject;
  const entity = op.entity ?? { key: opKey(op) ?? null, properties: {} };
  const about = JSON.stringify({ code: error.code, message: error.message, key: error.key });
  return `{"error":${about},"namespace":${JSON.stringify(reject.namespace)},"kind":${JSON.stringify(reject.kind)},"entity":${encodeEntity(entity)}}\n`;
}

class RejectsSinkStream extends Writable implements RejectsSink {
  count = 0;
  file: string | undefined;
  private sink: FileSink | undefined;
  /** The write waiting for the file. */
  private waiting: ((err?: Error | null) => void) | undefined;

  constructor(readonly path: string) {
    super({ objectMode: true, highWaterMark: 64 });
  }

  add(reject: Reject): Promise<void> {
    return new Promise((resolve, reject_) => this.write(reject, (err) => (err ? reject_(err) : resolve())));
  }

  private open(): FileSink {
    if (this.sink === undefined) {
      this.sink = createFileSink(this.path);
      // The file's failure (cannot create, disk full) is ours: fail the write waiting on it, or the stream.
      this.sink.on('error', (err) => {
        const waiting = this.waiting;
        this.waiting = undefined;
        if (waiting) waiting(err);
        else this.destroy(err);
      });
    }
    return this.sink;
  }

  /** One write to the file at a time: a reject is taken once its line is in the file (rejects are few). */
  private pass(lines: string, callback: (err?: Error | null) => void): void {
    this.waiting = callback;
    this.open().write(lines, (err) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(err);
    });
  }

  override _write(reject: Reject, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.count++;
    this.pass(formatReject(reject), callback);
  }

  override _writev(chunks: Array<{ chunk: Reject }>, callback: (err?: Error | null) => void): void {
    this.count += chunks.length;
    this.pass(chunks.map((c) => formatReject(c.chunk)).join(''), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    const sink = this.sink;
    if (sink === undefined) return callback();
    finished(sink.end()).then(
      () => {
        this.file = this.path;
        callback();
      },
      (err: Error) => callback(err),
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const sink = this.sink;
    // A sink that has not finished removes its temp file as it closes.
    if (sink === undefined || sink.destroyed) return callback(err);
    sink.destroy();
    sink.once('close', () => callback(err));
  }
}

/** A Writable (objectMode) of Reject that lands at `path` atomically when it finishes. */
export function createRejectsSink(path: string): RejectsSink {
  return new RejectsSinkStream(path);
}
