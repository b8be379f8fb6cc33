/**
 * serializer: entities (or RunQuery EntityResults) to NDJSON bytes with the
 * dump line codec. Lines are gathered into chunks of about 64 KiB: one write
 * per line would cost more in stream bookkeeping than the encoding itself.
 * A page the wire path already turned into lines (a LinesPage, from the
 * entity reader with the wire page fetcher) passes through as it is, counted.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { encodeEntity } from '../format/entity-codec.js';
import type { IEntity, IEntityResult } from '../model/proto.js';
import type { LinesPage } from '../format/wire/run-query-lines.js';
import { isLinesPage } from '../datastore/raw-run-query.js';

export interface Serializer extends Transform {
  /** Entities encoded. */
  readonly entities: number;
  /** NDJSON bytes produced. */
  readonly rawBytes: number;
}

const CHUNK_CHARS = 64 * 1024;

class SerializerStream extends Transform implements Serializer {
  entities = 0;
  rawBytes = 0;
  private pending = '';

  constructor() {
    super({ writableObjectMode: true, readableObjectMode: false, writableHighWaterMark: 256 });
  }

  override _transform(chunk: IEntity | IEntityResult | LinesPage, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (isLinesPage(chunk)) {
      this.flushPending();
      this.entities += chunk.count;
      this.rawBytes += chunk.lines.length;
      if (chunk.lines.length > 0) this.push(chunk.lines);
      return callback();
    }
    let line: string;
    try {
      // An EntityResult carries the entity under `entity`; an Entity never has that field.
      const entity = (chunk as IEntityResult).entity ?? (chunk as IEntity);
      line = encodeEntity(entity);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.entities++;
    this.pending += line + '\n';
    if (this.pending.length >= CHUNK_CHARS) this.flushPending();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.flushPending();
    callback();
  }

  private flushPending(): void {
    if (this.pending === '') return;
    const bytes = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    this.rawBytes += bytes.length;
    this.push(bytes);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.pending = '';
    callback(err);
  }
}

export function createSerializer(): Serializer {
  return new SerializerStream();
}
