/**
 * Fault injection for reliability tests: a seeded PRNG (mulberry32) decides
 * for each RPC, before any work is done, whether it fails and with which
 * code. Deciding first means a failed Commit has had no effect, so a client
 * that retries it cannot double-apply anything.
 */
import { Status } from './rpc-error.js';
import { mulberry32 } from '../prng.js';

export interface FaultOptions {
  /** Share of RPCs that fail, 0..1. */
  rate: number;
  /** PRNG seed; the same seed gives the same sequence of failures. */
  seed?: number;
  /** gRPC codes to fail with (default: the transient ones). */
  codes?: number[];
}

export const DEFAULT_FAULT_CODES: readonly number[] = [
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.ABORTED,
  Status.RESOURCE_EXHAUSTED,
  Status.INTERNAL,
];

const MESSAGES: Record<number, string> = {
  [Status.UNAVAILABLE]: 'The service is currently unavailable. (injected fault)',
  [Status.DEADLINE_EXCEEDED]: 'Deadline exceeded. (injected fault)',
  [Status.ABORTED]: 'Aborted due to cross-transaction contention. (injected fault)',
  [Status.RESOURCE_EXHAUSTED]: 'Quota exceeded. (injected fault)',
  [Status.INTERNAL]: 'Internal error. (injected fault)',
};


export class FaultInjector {
  private readonly rate: number;
  private readonly codes: readonly number[];
  private readonly random: () => number;
  /** Faults injected so far, by code. */
  readonly injected = new Map<number, number>();

  constructor(options: FaultOptions) {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError(`fault rate must be between 0 and 1, got ${options.rate}`);
    const codes = options.codes ?? DEFAULT_FAULT_CODES;
    if (codes.length === 0 || codes.some((c) => !Number.isInteger(c) || c < 1 || c > 16)) {
      throw new RangeError(`fault codes must be gRPC status codes 1..16, got ${JSON.stringify(codes)}`);
    }
    this.rate = options.rate;
    this.codes = codes;
    this.random = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** The fault for the next RPC, or undefined to serve it. */
  next(): { code: number; details: string } | undefined {
    if (this.rate === 0 || this.random() >= this.rate) return undefined;
    const code = this.codes[Math.floor(this.random() * this.codes.length)]!;
    this.injected.set(code, (this.injected.get(code) ?? 0) + 1);
    return { code, details: MESSAGES[code] ?? `Injected fault (code ${code}).` };
  }
}
