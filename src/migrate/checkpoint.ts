/**
 * The checkpoint of one kind being migrated.
 *
 * The frontier is the last key such that it and every key before it are
 * migrated *and committed*. Entities are read in key order, but their writes
 * finish out of order (several commits in flight, conflicts re-tried later),
 * so the frontier is the key just before the oldest write not yet done. The
 * counts kept here are those of the entities up to the frontier: what is
 * recorded at a checkpoint is what was committed, never what was merely sent.
 *
 * Writes past the frontier may have landed when a run is killed. So that a
 * resumed run never transforms such an entity a second time, no write is sent
 * before a *window* covering its key is saved in the record: a window says
 * "writes to keys up to `upTo` are sent only after the record save that
 * returned version `after`". Every Datastore (production, both Google
 * emulators, dspipe's) gives each commit a version greater than every earlier
 * commit's, so on resume an entity inside a window whose version is greater
 * than the window's `after` has been written since: it is not transformed
 * again (see `writtenSince`).
 */
import type { IKey } from '../model/proto.js';
import { compareKeyPaths } from '../model/key-order.js';
import type { MigrationCounts } from './record.js';

/** What happened to one entity: `recovered` = written by an earlier, killed run after its last checkpoint. */
export type EntityOutcome = 'changed' | 'deleted' | 'unchanged' | 'recovered';

/** Writes to keys up to `upTo` (inclusive) were sent after the record save that returned version `after`. */
export interface WriteWindow {
  upTo: IKey;
  /** The record version that save returned; null until it returns (on resume: the record's own version). */
  after: string | null;
}

interface Entry {
  key: IKey;
  outcome: EntityOutcome;
  done: boolean;
}

export class CheckpointTracker {
  private last: IKey | null;
  private seq = 0;
  /** Entities past the frontier, by ticket (= key order). */
  private readonly pending = new Map<number, Entry>();
  /** Counts of the entities up to the frontier (this run's). */
  readonly committed: Omit<MigrationCounts, 'conflicts'> = { read: 0, changed: 0, deleted: 0, unchanged: 0 };

  constructor(resumeAfter: IKey | null = null) {
    this.last = resumeAfter;
  }

  /** An entity that needs no write was handled (left alone, or found written by an earlier run). */
  settled(key: IKey, outcome: 'unchanged' | 'recovered' = 'unchanged'): void {
    this.pending.set(++this.seq, { key, outcome, done: true });
    this.advance();
  }

  /** An entity whose write will be sent; returns its ticket for `done`. */
  started(key: IKey, outcome: 'changed' | 'deleted'): number {
    const ticket = ++this.seq;
    this.pending.set(ticket, { key, outcome, done: false });
    return ticket;
  }

  /** The write landed (or, after a conflict, the entity reached its final state: `outcome` says which). */
  done(ticket: number, outcome?: 'changed' | 'deleted' | 'unchanged'): void {
    const entry = this.pending.get(ticket);
    if (entry === undefined) return;
    entry.done = true;
    if (outcome !== undefined) entry.outcome = outcome;
    this.advance();
  }

  private advance(): void {
    // Map iterates in insertion order, which is ticket (= key) order.
    for (const [ticket, entry] of this.pending) {
      if (!entry.done) return;
      this.pending.delete(ticket);
      this.last = entry.key;
      this.committed.read++;
      this.committed[entry.outcome === 'recovered' ? 'changed' : entry.outcome]++;
    }
  }

  /** Writes sent and not yet done. */
  get inFlight(): number {
    let n = 0;
    for (const entry of this.pending.values()) if (!entry.done) n++;
    return n;
  }

  /** Every key up to and including this one is migrated and committed (null: nothing yet). */
  frontier(): IKey | null {
    return this.last;
  }
}

/**
 * Whether an entity read on resume was written after a window covering its
 * key was opened: then a killed run's write to it landed (or the app wrote it
 * since), and it must not be transformed again. Windows are in the order they
 * were opened; the first that covers the key is the one its write was sent under.
 */
export function writtenSince(windows: readonly WriteWindow[], key: IKey, version: string, recordVersion: string): boolean {
  const window = windows.find((w) => compareKeyPaths(key, w.upTo) <= 0);
  if (window === undefined) return false;
  const after = window.after ?? recordVersion;
  if (!/^\d+$/.test(after) || !/^\d+$/.test(version)) return false;
  return BigInt(version) > BigInt(after);
}
