/**
 * Entities in, entities out with their keys moved to the target project,
 * database and namespaces (see src/format/key-rewrite.ts for which keys move).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { IEntity } from '../model/proto.js';
import { createKeyRewrite, type KeyRewriteOptions } from '../format/key-rewrite.js';

export interface KeyRewriter {
  [Symbol.asyncIterator](): AsyncIterableIterator<IEntity>;
  // the untyped signature too, so pipeline() still takes it as a NodeJS.ReadableStream
  [Symbol.asyncIterator](): AsyncIterableIterator<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class KeyRewriter extends Transform {
  entities = 0;
  private readonly rewrite: ((entity: IEntity) => IEntity) | undefined;

  constructor(options: KeyRewriteOptions) {
    super({ objectMode: true, highWaterMark: 256 });
    this.rewrite = createKeyRewrite(options);
  }

  override _transform(entity: IEntity, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.entities++;
    callback(null, this.rewrite ? this.rewrite(entity) : entity);
  }
}

export function createKeyRewriter(options: KeyRewriteOptions): KeyRewriter {
  return new KeyRewriter(options);
}
