/**
 * selectionFilter: entities in, only those of a selected namespace and kind
 * out. Restore needs it for NDJSON on stdin, which has no manifest to select
 * kind files by; a dump folder is selected by its manifest instead.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { IEntity } from '../model/proto.js';
import { matches, type Selection } from '../format/selection.js';

export interface SelectionFilter extends Transform {
  [Symbol.asyncIterator](): AsyncIterableIterator<IEntity>;
  // the untyped signature too, so pipeline() still takes it as a NodeJS.ReadableStream
  [Symbol.asyncIterator](): AsyncIterableIterator<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Entities passed on. */
  readonly passed: number;
  /** Entities of namespaces or kinds not selected. */
  readonly dropped: number;
}

class SelectionFilterStream extends Transform implements SelectionFilter {
  passed = 0;
  dropped = 0;

  constructor(private readonly selection: Selection) {
    super({ objectMode: true, highWaterMark: 64 });
  }

  override _transform(entity: IEntity, _encoding: BufferEncoding, callback: TransformCallback): void {
    const path = entity.key?.path ?? [];
    const kind = path[path.length - 1]?.kind ?? '';
    const namespace = entity.key?.partitionId?.namespaceId ?? '';
    if (matches(this.selection.namespaces, namespace) && matches(this.selection.kinds, kind)) {
      this.passed++;
      callback(null, entity);
    } else {
      this.dropped++;
      callback();
    }
  }
}

export function createSelectionFilter(selection: Selection): SelectionFilter {
  return new SelectionFilterStream(selection);
}
