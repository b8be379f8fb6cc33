/**
 * transformer: EntityResults (in key order) in, WriteOps out. Runs a
 * migration's transform on each entity and turns what it returns into a
 * conditional write: an upsert or delete carrying `baseVersion` = the version
 * read, so the commit only lands if nobody changed the entity meanwhile.
 * Unchanged entities produce nothing. On resume, entities up to the
 * checkpoint key are passed over, and so are entities a killed run had
 * already rewritten (found by their version, see checkpoint.ts). With
 * `reserve`, writes are held until a window covering their keys is saved.
 * The first bad result fails the stream with
 * DSPIPE_MIGRATION_FAILED (script and key named).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { IEntityResult, IKey } from '../model/proto.js';
import { compareKeyPaths } from '../model/key-order.js';
import { encodeEntity } from '../format/entity-codec.js';
import type { WriteOp } from '../format/batching.js';
import { CheckpointTracker, writtenSince, type WriteWindow } from './checkpoint.js';
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
  /** On resume: the killed run's write windows (`after` filled in) — entities written since are not transformed again. */
  windows?: readonly WriteWindow[];
  /** On resume: the record's version as read, for a window whose `after` is null. */
  recordVersion?: string;
  /** Saves a window covering keys up to `upTo`; writes are held until it resolves. Without it, writes go out at once. */
  reserve?: (upTo: IKey) => Promise<void>;
  /** Entities handled per window (default 500). */
  reserveEvery?: number;
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
  /** Passed over because an earlier run already migrated them (up to the checkpoint key). */
  skipped = 0;
  /** Past the checkpoint, but found rewritten by a killed earlier run: not transformed again. */
  recovered = 0;
  changed = 0;
  deleted = 0;
  unchanged = 0;
  readonly examples: ChangeExample[] = [];
  readonly tracker: CheckpointTracker;
  /** The tracker ticket of each op sent on. */
  readonly tickets = new WeakMap<WriteOp, number>();
  /** Set when the run is being stopped: writes not yet sent are dropped (their entities stay past the checkpoint). */
  stopping = false;
  /** Writes waiting for their window to be saved. */
  private held: WriteOp[] = [];
  private sinceReserve = 0;
  private lastHandled: IKey | null = null;

  constructor(private readonly options: TransformerOptions) {
    super({ objectMode: true, writableHighWaterMark: 64, readableHighWaterMark: 64 });
    this.tracker = options.tracker ?? new CheckpointTracker(options.resumeAfter ?? null);
  }

  override _transform(result: IEntityResult, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.handle(result).then(() => callback(), (err: Error) => callback(err));
  }

  override _flush(callback: TransformCallback): void {
    this.release().then(() => callback(), (err: Error) => callback(err));
  }

  /** Saves a window over everything handled so far, then sends the writes held for it. */
  private async release(): Promise<void> {
    this.sinceReserve = 0;
    if (this.stopping) this.held = [];
    if (this.held.length === 0) return;
    await this.options.reserve!(this.lastHandled!);
    const held = this.held;
    this.held = [];
    for (const op of held) this.push(op);
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
    this.lastHandled = key;
    if (this.options.windows && writtenSince(this.options.windows, key, String(result.version ?? ''), this.options.recordVersion ?? '')) {
      this.recovered++;
      this.tracker.settled(key, 'recovered');
      await this.options.onEntity?.();
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
      this.tickets.set(op, this.tracker.started(key, outcome.type === 'write' ? 'changed' : 'deleted'));
      if (this.options.reserve) this.held.push(op);
      else this.push(op);
    }
    if (this.options.reserve && ++this.sinceReserve >= (this.options.reserveEvery ?? 500)) await this.release();
    await this.options.onEntity?.();
  }
}

export function createTransformer(options: TransformerOptions): Transformer {
  return new Transformer(options);
}
