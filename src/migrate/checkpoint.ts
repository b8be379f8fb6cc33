/**
 * The checkpoint frontier of one kind: the last key such that it and every
 * key before it are migrated. Entities are read in key order, but their
 * writes finish out of order (several commits in flight, conflicts re-tried
 * later), so the frontier is the key just before the oldest write not yet
 * done. Resuming from it may redo a few entities, never skip one.
 */
import type { IKey } from '../model/proto.js';

export class CheckpointTracker {
  private last: IKey | null;
  private seq = 0;
  /** Writes not yet done, by sequence number, with the key read before each. */
  private readonly pending = new Map<number, IKey | null>();

  constructor(resumeAfter: IKey | null = null) {
    this.last = resumeAfter;
  }

  /** An entity that needs no write was handled. */
  settled(key: IKey): void {
    this.last = key;
  }

  /** An entity whose write was just sent; returns its ticket for `done`. */
  started(key: IKey): number {
    const ticket = ++this.seq;
    this.pending.set(ticket, this.last);
    this.last = key;
    return ticket;
  }

  done(ticket: number): void {
    this.pending.delete(ticket);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Every key up to and including this one is migrated (null: nothing yet). */
  frontier(): IKey | null {
    // Map iterates in insertion order, which is ticket (= key) order.
    for (const before of this.pending.values()) return before;
    return this.last;
  }
}
