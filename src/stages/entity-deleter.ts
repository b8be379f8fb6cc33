/**
 * Deleting for `clear`: `createDeleteOps()` turns what a keys-only read
 * yields (EntityResults, entities or bare keys) into delete WriteOps for the
 * batcher, and `createEntityDeleter()` commits those batches — the entity
 * writer with its concurrency, retries and counts (`written` = deleted).
 * Deletes are idempotent, so every retry is safe.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { DatastoreClient, Connection } from '../datastore/connection.js';
import type { IEntity, IEntityResult, IKey } from '../model/proto.js';
import type { WriteOp } from '../format/batching.js';
import { createEntityWriter, type EntityWriter, type EntityWriterOptions } from './entity-writer.js';

function keyOf(chunk: IEntityResult | IEntity | IKey): IKey | undefined {
  if ('entity' in chunk && chunk.entity) return chunk.entity.key ?? undefined;
  if ('path' in chunk && Array.isArray(chunk.path)) return chunk as IKey;
  return (chunk as IEntity).key ?? undefined;
}

export class DeleteOps extends Transform {
  keys = 0;

  constructor() {
    super({ objectMode: true, highWaterMark: 256 });
  }

  override _transform(chunk: IEntityResult | IEntity | IKey, _encoding: BufferEncoding, callback: TransformCallback): void {
    const key = keyOf(chunk);
    if (!key) return callback(new Error('delete: input without a key'));
    this.keys++;
    const op: WriteOp = { op: 'delete', key };
    callback(null, op);
  }
}

export function createDeleteOps(): DeleteOps {
  return new DeleteOps();
}

export type EntityDeleterOptions = Pick<EntityWriterOptions, 'writers' | 'retry' | 'onCommitted' | 'rate'>;

export function createEntityDeleter(client: DatastoreClient, connection: Connection, options: EntityDeleterOptions = {}): EntityWriter {
  return createEntityWriter(client, connection, options);
}
