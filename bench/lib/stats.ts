/** Small statistics for benchmark samples: medians and spread, never means of noisy runs. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: how far apart the repeats were. */
  relSpread: number;
  samples: number[];
}

export function spread(values: readonly number[]): Spread {
  const m = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: m, min, max, relSpread: m === 0 ? 0 : (max - min) / Math.abs(m), samples: [...values] };
}

/** Runs `fn` repeatedly for at least `minMs` and returns operations per second. */
export async function opsPerSecond(fn: () => unknown | Promise<unknown>, ops: number, minMs = 200): Promise<number> {
  let done = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    await fn();
    done += ops;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (done * 1000) / elapsed;
}
