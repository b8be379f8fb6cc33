/**
 * entityCounter: a sink that counts what reaches it and keeps nothing — the
 * end of restore's verify pass, where every line must decode but nothing is
 * written yet.
 */
import { Writable } from 'node:stream';

export interface EntityCounter extends Writable {
  /** Entities written to it so far; final once 'finish' has fired. */
  readonly count: number;
}

class EntityCounterStream extends Writable implements EntityCounter {
  count = 0;

  constructor() {
    super({ objectMode: true, highWaterMark: 64 });
  }

  override _write(_entity: unknown, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.count++;
    callback();
  }

  override _writev(chunks: Array<{ chunk: unknown }>, callback: (err?: Error | null) => void): void {
    this.count += chunks.length;
    callback();
  }
}

export function createEntityCounter(): EntityCounter {
  return new EntityCounterStream();
}
