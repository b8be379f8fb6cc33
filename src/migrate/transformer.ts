/**
 * transformer: EntityResults (in key order) in, WriteOps out. Runs a
 * migration's transform on each entity and turns what it returns into a
 * conditional write: an upsert or delete carrying `baseVersion` = the version
 * read, so the commit only lands if nobody changed the entity meanwhile.
 * Unchanged entities produce nothing. On resume, entities up to the
 * checkpoint key are passed over. The first bad result fails the stream with
 * DSPIPE_MIGRATION_FAILED (script and key named).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { IEntityResult, IKey } from '../model/proto.js';
import { compareKeyPaths } from '../model/key-order.js';
import { encodeEntity } from '../format/entity-codec.js';
import type { WriteOp } from '../format/batching.js';
import { CheckpointTracker } from './checkpoint.js';
import { applyScript, type ScriptRef } from './outcome.js';
import { formatKey } from '../model/key-text.js';

export interface ChangeExample {
  key: string;
  /** The entity as read, in the dump line's JSON form. */
  before: unknown;
  /** As it would be written; null when it would be deleted. */
  after: unknown;
}

export interface TransformerOptions {
  script: ScriptRef;
  namespace: string;
  kind: string;
  /** Entities with keys up to and including this one were migrated before. */
  resumeAfter?: IKey | null;
  /** Tracks which writes are outstanding; the caller marks them done. */
  tracker?: CheckpointTracker;
  /** Keep this many before/after examples (default 0). */
  examples?: number;
  /** Awaited after each entity is handled (the caller saves checkpoints here). */
  onEntity?: () => void | Promise<void>;
}

export class Transformer extends Transform {
  /** Entities given to the transform. */
  processed = 0;
  /** Passed over because an earlier run already migrated them. */
  skipped = 0;
  changed = 0;
  deleted = 0;
  unchanged = 0;
  readonly examples: ChangeExample[] = [];
  readonly tracker: CheckpointTracker;
  /** The tracker ticket of each op sent on. */
  readonly tickets = new WeakMap<WriteOp, number>();

  constructor(private readonly options: TransformerOptions) {
    super({ objectMode: true, writableHighWaterMark: 64, readableHighWaterMark: 64 });
    this.tracker = options.tracker ?? new CheckpointTracker(options.resumeAfter ?? null);
  }

  override _transform(result: IEntityResult, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.handle(result).then(() => callback(), (err: Error) => callback(err));
  }

  private async handle(result: IEntityResult): Promise<void> {
    const entity = result.entity;
    const key = entity?.key;
    if (!entity || !key) return;
    const resumeAfter = this.options.resumeAfter;
    if (resumeAfter && compareKeyPaths(key, resumeAfter) <= 0) {
      this.skipped++;
      return;
    }
    this.processed++;
    const outcome = await applyScript(this.options.script, result, this.options.namespace, this.options.kind);
    const baseVersion = String(result.version ?? '');
    if (outcome.type === 'unchanged') {
      this.unchanged++;
      this.tracker.settled(key);
    } else {
      const op: WriteOp = outcome.type === 'write' ? { op: 'upsert', entity: outcome.entity, baseVersion } : { op: 'delete', key, baseVersion };
      if (outcome.type === 'write') this.changed++;
      else this.deleted++;
      if (this.examples.length < (this.options.examples ?? 0)) {
        this.examples.push({
          key: formatKey(key),
          before: JSON.parse(encodeEntity(entity)),
          after: outcome.type === 'write' ? JSON.parse(encodeEntity(outcome.entity)) : null,
        });
      }
      this.tickets.set(op, this.tracker.started(key));
      this.push(op);
    }
    await this.options.onEntity?.();
  }
}

export function createTransformer(options: TransformerOptions): Transformer {
  return new Transformer(options);
}
