/**
 * schemaCollector: a sink of entities (or EntityResults, as the entity
 * reader emits them) that accumulates the schema report. Pure work per
 * entity, so it never holds more than one chunk.
 */
import { Writable } from 'node:stream';
import type { IEntity, IEntityResult } from '../model/proto.js';
import { SchemaAccumulator } from '../format/schema.js';

export interface SchemaCollectorOptions {
  /** Where to accumulate (several collectors may share one). */
  accumulator?: SchemaAccumulator;
  /** File every entity under this namespace and kind instead of its key's. */
  namespace?: string;
  kind?: string;
}

export class SchemaCollector extends Writable {
  entities = 0;
  readonly accumulator: SchemaAccumulator;
  private readonly where: { namespace: string; kind: string } | undefined;

  constructor(options: SchemaCollectorOptions = {}) {
    super({ objectMode: true, highWaterMark: 256 });
    this.accumulator = options.accumulator ?? new SchemaAccumulator();
    this.where = options.namespace !== undefined && options.kind !== undefined ? { namespace: options.namespace, kind: options.kind } : undefined;
    if (this.where) this.accumulator.touch(this.where.namespace, this.where.kind);
  }

  override _write(chunk: IEntity | IEntityResult, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const entity = 'entity' in chunk && chunk.entity ? chunk.entity : (chunk as IEntity);
    try {
      this.accumulator.add(entity, this.where);
      this.entities++;
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}

export function createSchemaCollector(options: SchemaCollectorOptions = {}): SchemaCollector {
  return new SchemaCollector(options);
}
