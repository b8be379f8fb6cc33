/**
 * `--max-write-rps N`: the emulator refuses, with RESOURCE_EXHAUSTED, a
 * Commit whose mutations would take the last second's writes above N — how
 * production answers a client that writes faster than a cold key range
 * takes. It lets the adaptive write rate of restore, migrate and clear be
 * tested end to end. A Commit refused here has changed nothing.
 *
 * A Commit larger than N on its own is admitted when the last second was
 * quiet, so a batch bigger than the limit still goes through, only slowly.
 */
import { RpcError, Status } from './rpc-error.js';

const WINDOW_MS = 1000;

export class WriteLimit {
  private admitted: Array<{ at: number; n: number }> = [];
  private inWindow = 0;
  /** Commits refused so far. */
  refused = 0;

  constructor(
    readonly maxRps: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(Number.isFinite(maxRps) && maxRps > 0)) throw new RangeError(`maxWriteRps must be above 0, got ${maxRps}`);
  }

  /** Admits a Commit of n mutations, or throws the RESOURCE_EXHAUSTED production would answer. */
  admit(n: number): void {
    const now = this.now();
    while (this.admitted.length > 0 && this.admitted[0]!.at <= now - WINDOW_MS) this.inWindow -= this.admitted.shift()!.n;
    if (n > 0 && this.inWindow > 0 && this.inWindow + n > this.maxRps) {
      this.refused++;
      throw new RpcError(
        Status.RESOURCE_EXHAUSTED,
        `Resource has been exhausted (e.g. check quota). (dspipe emulator --max-write-rps ${this.maxRps}: ${this.inWindow} write operations in the last second)`,
      );
    }
    this.admitted.push({ at: now, n });
    this.inWindow += n;
  }
}
