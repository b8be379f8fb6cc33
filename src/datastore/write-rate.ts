/**
 * The write rate of restore, migrate and clear: Datastore's "500/50/5" ramp
 * (start a new key range at 500 operations per second, add 50% every 5
 * minutes: https://cloud.google.com/datastore/docs/best-practices#ramping_up_traffic),
 * a ceiling (`--max-rps`), and a multiplicative decrease when Datastore pushes
 * back with RESOURCE_EXHAUSTED or ABORTED, before the refused commit is retried.
 *
 * The core is pure: time comes from an injected clock, `reserve(n)` answers
 * how long to wait before sending n operations (virtual scheduling: each
 * reservation moves the next free moment on by n / rate seconds), so the
 * tests drive hours of ramp without waiting. `acquire` is the one place that
 * sleeps.
 *
 * After a decrease the rate grows back by the same +50% steps: every 5
 * minutes with the ramp on (never above the ramp's own schedule, since it
 * starts lower), every `recoverMs` with it off (an emulator or a database the
 * user says is warm: no schedule to keep, only the push-back to respect).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export const WRITE_RATE_DEFAULTS = {
  startRps: 500,
  stepFactor: 1.5,
  stepMs: 5 * 60_000,
  decreaseFactor: 0.5,
  /** Never slower than this: one small commit every few seconds still makes progress. */
  minRps: 5,
  /** Ramp off: how soon after a decrease the rate grows again by one step. */
  recoverMs: 5_000,
  /** Push-backs within this long of a decrease are the same episode (concurrent commits refused together). */
  cooldownMs: 1_000,
  /** The span the observed rate is measured over (and the shortest: a first burst is not read as a huge rate). */
  windowMs: 2_000,
  minSpanMs: 1_000,
} as const;

export type RateChangeReason = 'start' | 'ramp' | 'throttled' | 'recovered';

export interface RateChange {
  /** Operations per second allowed from now on; null: no limit. */
  rps: number | null;
  reason: RateChangeReason;
  /** Clock time (ms) of the change. */
  at: number;
}

export interface WriteRateOptions {
  /** Follow the 500/50/5 ramp (on against production by default, off against emulators). */
  ramp: boolean;
  /** Ceiling in operations per second; undefined: none. */
  maxRps?: number | undefined;
  startRps?: number;
  stepFactor?: number;
  stepMs?: number;
  decreaseFactor?: number;
  minRps?: number;
  recoverMs?: number;
  cooldownMs?: number;
  windowMs?: number;
  minSpanMs?: number;
  /** Milliseconds, monotonic (default performance.now). */
  clock?: () => number;
  /** Told about every change of the rate, the first one included. */
  onChange?: (change: RateChange) => void;
}

/** What a command reports about its write rate. */
export interface WriteRateSummary {
  ramp: boolean;
  maxRps: number | null;
  /** The rate allowed at the end (null: no limit). */
  rps: number | null;
  /** Push-backs (RESOURCE_EXHAUSTED / ABORTED) that lowered the rate. */
  throttles: number;
  /** Operations sent. */
  ops: number;
}

export class WriteRateLimiter {
  readonly ramp: boolean;
  readonly maxRps: number;
  private readonly o: Required<Omit<WriteRateOptions, 'maxRps' | 'onChange' | 'ramp'>>;
  private readonly onChange: ((change: RateChange) => void) | undefined;
  private rate: number;
  /** When the rate last changed; growth steps count from here. */
  private changedAt: number;
  private lastDecrease = -Infinity;
  /** The next moment a reservation may start (virtual scheduling). */
  private nextFree: number;
  private readonly startedAt: number;
  private recent: Array<{ at: number; n: number }> = [];
  throttles = 0;
  ops = 0;

  constructor(options: WriteRateOptions) {
    const d = WRITE_RATE_DEFAULTS;
    this.o = {
      startRps: options.startRps ?? d.startRps,
      stepFactor: options.stepFactor ?? d.stepFactor,
      stepMs: options.stepMs ?? d.stepMs,
      decreaseFactor: options.decreaseFactor ?? d.decreaseFactor,
      minRps: options.minRps ?? d.minRps,
      recoverMs: options.recoverMs ?? d.recoverMs,
      cooldownMs: options.cooldownMs ?? d.cooldownMs,
      windowMs: options.windowMs ?? d.windowMs,
      minSpanMs: options.minSpanMs ?? d.minSpanMs,
      clock: options.clock ?? (() => performance.now()),
    };
    const max = options.maxRps ?? Infinity;
    if (!(max > 0)) throw new RangeError(`maxRps must be above 0, got ${options.maxRps}`);
    if (!(this.o.startRps > 0) || !(this.o.stepFactor >= 1) || !(this.o.decreaseFactor > 0 && this.o.decreaseFactor < 1)) {
      throw new RangeError('write rate: startRps > 0, stepFactor >= 1 and 0 < decreaseFactor < 1 are required');
    }
    this.ramp = options.ramp;
    this.maxRps = max;
    this.onChange = options.onChange;
    const now = this.o.clock();
    this.startedAt = now;
    this.changedAt = now;
    this.nextFree = now;
    this.rate = this.ramp ? Math.min(this.o.startRps, max) : max;
    this.onChange?.({ rps: this.public(this.rate), reason: 'start', at: now });
  }

  private public(rate: number): number | null {
    return rate === Infinity ? null : Math.round(rate * 10) / 10;
  }

  /** The rate allowed now, after any growth steps that fell due (ops/s; Infinity: none). */
  rpsAt(now: number = this.o.clock()): number {
    if (this.rate >= this.maxRps) return this.rate;
    const step = this.ramp ? this.o.stepMs : this.o.recoverMs;
    const steps = Math.floor((now - this.changedAt) / step);
    if (steps <= 0) return this.rate;
    const before = this.rate;
    this.rate = Math.min(this.maxRps, this.rate * this.o.stepFactor ** steps);
    this.changedAt += steps * step;
    const reason: RateChangeReason = this.throttles > 0 && !this.ramp ? 'recovered' : 'ramp';
    if (this.rate !== before) this.onChange?.({ rps: this.public(this.rate), reason, at: now });
    return this.rate;
  }

  /** The rate allowed now, for progress and results (null: no limit). */
  get rps(): number | null {
    return this.public(this.rpsAt());
  }

  /**
   * Books n operations; returns how many ms to wait before sending them.
   * The first batch goes at once, each later one when the ones before it
   * have "used up" their share of the rate.
   */
  reserve(n: number): number {
    const now = this.o.clock();
    const rate = this.rpsAt(now);
    this.ops += n;
    const start = Math.max(now, this.nextFree);
    this.nextFree = rate === Infinity ? now : start + (n * 1000) / rate;
    this.recent.push({ at: start, n });
    this.prune(now);
    return start - now;
  }

  /** Operations per second sent over the last window (scheduled ones included). */
  observedRps(now: number = this.o.clock()): number {
    this.prune(now);
    const span = Math.max(this.o.minSpanMs, Math.min(this.o.windowMs, now - this.startedAt));
    const n = this.recent.reduce((s, r) => s + (r.at <= now ? r.n : 0), 0);
    return (n * 1000) / span;
  }

  private prune(now: number): void {
    const from = now - this.o.windowMs;
    if (this.recent.length > 0 && this.recent[0]!.at < from) this.recent = this.recent.filter((r) => r.at >= from);
  }

  /**
   * Datastore pushed back (RESOURCE_EXHAUSTED, ABORTED): the rate drops by
   * `decreaseFactor` from what was actually being sent (or the limit, if
   * lower), once per episode. Returns whether it dropped.
   *
   * Push-backs within `cooldownMs` of a decrease count as one (Datastore's
   * answer lags: what it refuses now was often sent at the old rate), and so
   * does one for a request sent before the last decrease (`sentAt`, what
   * `acquire` answered for it), however late it comes back.
   */
  throttled(sentAt?: number): boolean {
    const now = this.o.clock();
    if (now - this.lastDecrease < this.o.cooldownMs || (sentAt !== undefined && sentAt < this.lastDecrease)) return false;
    const limit = this.rpsAt(now);
    const observed = this.observedRps(now);
    const from = Math.min(limit, observed > 0 ? observed : limit === Infinity ? this.o.startRps : limit);
    this.rate = Math.max(this.o.minRps, from * this.o.decreaseFactor);
    this.lastDecrease = now;
    this.changedAt = now;
    this.throttles++;
    this.onChange?.({ rps: this.public(this.rate), reason: 'throttled', at: now });
    return true;
  }

  /** Waits for room for n operations (rejects when `signal` aborts); resolves with the clock time of its slot. */
  async acquire(n: number, signal?: AbortSignal): Promise<number> {
    const wait = this.reserve(n);
    const slot = this.o.clock() + wait;
    if (wait > 0) await sleep(wait, undefined, signal ? { signal } : undefined);
    return slot;
  }

  summary(): WriteRateSummary {
    return { ramp: this.ramp, maxRps: this.maxRps === Infinity ? null : this.maxRps, rps: this.rps, throttles: this.throttles, ops: this.ops };
  }
}

/** gRPC codes by which Datastore says "slower": quota / contention. */
export const PUSH_BACK_CODES: ReadonlySet<number> = new Set([8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */]);
