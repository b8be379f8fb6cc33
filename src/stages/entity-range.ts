/**
 * entityRange: passes on the entities at positions [from, to) of a stream
 * (0-based) and drops the rest, counting both — one task's slice of a kind
 * file in a sharded restore. Stops reading nothing early: the whole file is
 * still hashed and checked by the stages before it.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class EntityRange extends Transform {
  /** Entities seen, in range or not. */
  seen = 0;
  passed = 0;

  constructor(private readonly from: number, private readonly to: number) {
    super({ objectMode: true, highWaterMark: 16 });
  }

  override _transform(entity: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const i = this.seen++;
    if (i >= this.from && i < this.to) {
      this.passed++;
      return callback(null, entity);
    }
    callback();
  }
}

export function createEntityRange(from: number, to: number): EntityRange {
  return new EntityRange(from, to);
}
