/**
 * The emulator's one clock. Commit times double as entity versions (like
 * Datastore's, microseconds since the epoch), so the clock never repeats a
 * value and never goes backwards even if the wall clock does: a read time
 * handed to a client stays a stable point in history.
 */
import type { ITimestamp } from '../model/proto.js';
import { invalidArgument } from './rpc-error.js';

export class Clock {
  private last = 0;

  /** A fresh instant in microseconds, strictly after every earlier one. */
  tick(): number {
    const now = Date.now() * 1000;
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }

  /** Moves the clock to at least `micros` (replaying persisted commits). */
  advanceTo(micros: number): void {
    if (micros > this.last) this.last = micros;
  }

  /** The latest instant handed out (0 before the first). */
  latest(): number {
    return this.last;
  }

  /** The current instant without advancing the clock past wall time. */
  now(): number {
    return Math.max(Date.now() * 1000, this.last);
  }
}

export function toTimestamp(micros: number): ITimestamp {
  const seconds = Math.floor(micros / 1e6);
  return { seconds: String(seconds), nanos: (micros - seconds * 1e6) * 1000 };
}

/** Microseconds of a Timestamp; sub-microsecond precision is rounded down. */
export function fromTimestamp(ts: ITimestamp, field = 'timestamp'): number {
  const seconds = Number(ts.seconds ?? 0);
  const nanos = Number(ts.nanos ?? 0);
  if (!Number.isFinite(seconds) || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw invalidArgument(`invalid ${field}: ${JSON.stringify(ts)}`);
  }
  return seconds * 1e6 + Math.floor(nanos / 1000);
}

export function isSetTimestamp(ts: ITimestamp | null | undefined): ts is ITimestamp {
  return ts !== null && ts !== undefined;
}
