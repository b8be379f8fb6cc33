/** Stream compliance helpers: count events, cut input at every boundary. */
import type { Stream } from 'node:stream';

export function recordEvents(stream: Stream, names: string[] = ['finish', 'end', 'close', 'error']): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) stream.on(name, () => counts.set(name, (counts.get(name) ?? 0) + 1));
  return counts;
}

/** The bytes cut into pieces at pseudo-random boundaries (1..max bytes each), deterministic per seed. */
export function cut(bytes: Buffer, seed: number, max = 97): Buffer[] {
  const pieces: Buffer[] = [];
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes.length; ) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const n = 1 + (x % max);
    pieces.push(bytes.subarray(i, i + n));
    i += n;
  }
  return pieces;
}
