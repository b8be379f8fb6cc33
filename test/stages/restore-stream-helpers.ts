/** Small helpers for the stream compliance tests of the restore stages. */
import { Readable, Writable, type Stream } from 'node:stream';

/** Counts the lifecycle events a stream emits. */
export function recordEvents(stream: Stream, names = ['end', 'finish', 'close', 'error']): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) stream.on(name, () => counts.set(name, (counts.get(name) ?? 0) + 1));
  return counts;
}

/** A sink that keeps everything written to it. */
export function collect<T>(objectMode = true): Writable & { items: T[] } {
  const sink = new Writable({
    objectMode,
    write(chunk: T, _encoding, callback) {
      sink.items.push(chunk);
      callback();
    },
  }) as Writable & { items: T[] };
  sink.items = [];
  return sink;
}

/** A byte source emitting `data` cut at the given offsets. */
export function chunked(data: Buffer, cuts: number[]): Readable {
  const parts: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, data.length]) {
    parts.push(data.subarray(start, cut));
    start = cut;
  }
  return Readable.from(parts.filter((p) => p.length > 0), { objectMode: false });
}

export const tick = () => new Promise((resolve) => setImmediate(resolve));
