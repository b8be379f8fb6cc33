/**
 * The one kind scheduler of dump, restore and clear: kinds run in parallel
 * up to a limit (p-limit, in the order given), the first failure stops the
 * others, and the caller's signal stops them all.
 *
 * Each task gets the run's own signal and must hand it to its pipeline. A
 * task that fails because the run was already stopping (an AbortError from
 * the first failure, or from the caller) does not count: the run rejects with
 * the failure that stopped it, or with the caller's abort reason.
 */
import pLimit from 'p-limit';

export interface KindSchedulerOptions<T> {
  /** Tasks running at once (at least 1). */
  concurrency: number;
  /** Stops every task; the run then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Told once, about the failure that stopped the run (not about the aborts it caused). */
  onFailure?: ((err: unknown, item: T) => void) | undefined;
}

export async function runKinds<T>(
  items: readonly T[],
  options: KindSchedulerOptions<T>,
  task: (item: T, signal: AbortSignal, index: number) => Promise<void>,
): Promise<void> {
  const outer = options.signal;
  const stop = new AbortController();
  const onOuter = () => stop.abort(outer!.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  const limit = pLimit(options.concurrency);
  let first: { err: unknown } | undefined;
  try {
    await Promise.all(
      items.map((item, index) =>
        limit(async () => {
          if (stop.signal.aborted) return;
          try {
            await task(item, stop.signal, index);
          } catch (err) {
            if (stop.signal.aborted) return;
            first = { err };
            options.onFailure?.(err, item);
            stop.abort(err);
          }
        }),
      ),
    );
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  if (first) throw first.err;
  if (outer?.aborted) throw outer.reason;
}
