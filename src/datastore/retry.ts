/**
 * Retry policy for Datastore RPCs: transient gRPC codes are retried with
 * exponential backoff and full jitter; anything else fails at once. Callers
 * make the retried operation idempotent themselves (resume from a cursor,
 * upsert the same batch), so a retry never duplicates or skips data.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** gRPC status codes Datastore documents as safe to retry. */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  13, // INTERNAL
  14, // UNAVAILABLE
]);

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 30_000, multiplier: 2 };

export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isTransient(err: unknown): boolean {
  const code = grpcCode(err);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export interface RetryHooks {
  /** Called before each wait; `attempt` is the attempt that failed (1-based). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  random?: () => number;
  /**
   * Asked about an error of a transient code before waiting: false fails at
   * once. A code is not always enough: RESOURCE_EXHAUSTED is also how a
   * backend refuses a request that is too large, which no wait will fix.
   */
  retryable?: (err: unknown) => boolean;
}

export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): Promise<T> {
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (!isTransient(err) || attempt >= policy.maxAttempts || hooks.retryable?.(err) === false) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
      const delayMs = Math.round(random() * ceiling);
      hooks.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, undefined, hooks.signal ? { signal: hooks.signal } : undefined);
    }
  }
}
