/**
 * `--max-rps N` and `--ramp on|off`, shared by restore, migrate and clear
 * (flags and library options alike). The ramp's default depends on the
 * target, known only once the connection is resolved: `auto` is on against
 * production, off against an emulator (resolveRamp).
 */
import { choice, opt, wholeNumber } from './validate.js';

export const MAX_RPS_LIMIT = 10_000_000;

export interface WriteRateInput {
  /** Most write operations per second (the whole job's, shared by its shards). */
  maxRps?: number | string;
  /** 'on' / true: the 500/50/5 ramp; 'off' / false: none; default 'auto' (on against production). */
  ramp?: 'on' | 'off' | 'auto' | boolean | string;
}

export interface WriteRateSetting {
  maxRps: number | undefined;
  ramp: 'on' | 'off' | 'auto';
}

export function normalizeWriteRate(input: WriteRateInput): WriteRateSetting {
  const ramp = typeof input.ramp === 'boolean' ? (input.ramp ? 'on' : 'off') : choice(opt('--ramp'), input.ramp, ['on', 'off', 'auto'] as const, 'auto');
  return { maxRps: wholeNumber(opt('--max-rps'), input.maxRps, 1, MAX_RPS_LIMIT), ramp };
}

/** Whether to ramp against this target: `auto` ramps against production only. */
export function resolveRamp(setting: WriteRateSetting, target: { emulatorHost?: string | undefined }): boolean {
  return setting.ramp === 'auto' ? target.emulatorHost === undefined : setting.ramp === 'on';
}
