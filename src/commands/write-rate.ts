/**
 * The write rate of one command run (restore, migrate, clear): the limiter
 * every writer of the run shares, set up from `--max-rps` / `--ramp` and the
 * target, reporting each change as a `rate` event.
 *
 * A sharded run (N processes writing one job) takes 1/N of the ramp's start
 * and of the ceiling, so the job as a whole follows 500/50/5 and `--max-rps`.
 */
import type { Connection } from '../datastore/connection.js';
import { WRITE_RATE_DEFAULTS, WriteRateLimiter, type RateChangeReason } from '../datastore/write-rate.js';
import { resolveRamp, type WriteRateSetting } from '../options/write-rate.js';

/** The allowed write rate changed: at the start, by the ramp, after a push-back from Datastore, or recovering from one. */
export interface RateEvent {
  type: 'rate';
  /** Write operations per second allowed from now on, for this process; null: no limit. */
  rps: number | null;
  reason: RateChangeReason;
  ramp: boolean;
}

export function startWriteRate(
  setting: WriteRateSetting,
  connection: Pick<Connection, 'emulatorHost'>,
  emit: (event: RateEvent) => void,
  share = 1,
): WriteRateLimiter {
  const ramp = resolveRamp(setting, connection);
  return new WriteRateLimiter({
    ramp,
    maxRps: setting.maxRps === undefined ? undefined : setting.maxRps / share,
    startRps: WRITE_RATE_DEFAULTS.startRps / share,
    onChange: (c) => emit({ type: 'rate', rps: c.rps, reason: c.reason, ramp }),
  });
}
