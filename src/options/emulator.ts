/**
 * The option normaliser of `dspipe emulator`. Its result is the options
 * object `startEmulator()` takes (emulator/ cannot import options/, so the
 * shape is restated here rather than imported).
 */
import { numberInRange, opt, text, wholeNumber } from './validate.js';

export interface EmulatorOptionsInput {
  port?: number | string;
  host?: string;
  latencyMs?: number | string;
  faults?: { rate?: number | string; seed?: number | string };
}

export interface NormalizedEmulatorOptions {
  port: number;
  host: string;
  latencyMs?: number;
  faults?: { rate: number; seed?: number };
}

export const DEFAULT_EMULATOR_PORT = 8081;
/** setTimeout's longest delay (2^31 - 1 ms); longer ones fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

export function normalizeEmulatorOptions(input: EmulatorOptionsInput = {}): NormalizedEmulatorOptions {
  const port = wholeNumber(opt('--port'), input.port, 0, 65_535, DEFAULT_EMULATOR_PORT);
  const host = text(opt('--host'), input.host, 'e.g. --host localhost, or --host 0.0.0.0 for every interface', 'localhost');
  const latencyMs = input.latencyMs === undefined ? undefined : numberInRange(opt('--latency-ms', 'latencyMs'), input.latencyMs, 0, MAX_DELAY_MS, 0);
  const rate = input.faults?.rate === undefined ? undefined : numberInRange(opt('--fail-rate', 'faults.rate'), input.faults.rate, 0, 1, 0.1);
  const seed = wholeNumber(opt('--seed', 'faults.seed'), input.faults?.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return {
    port,
    host,
    ...(latencyMs !== undefined && { latencyMs }),
    ...(rate !== undefined && { faults: seed !== undefined ? { rate, seed } : { rate } }),
  };
}
