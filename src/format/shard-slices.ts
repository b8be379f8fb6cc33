/**
 * Which entities of a dump each task of a sharded restore writes — pure.
 *
 * The kinds' entities are laid end to end in the manifest's order and cut
 * into `count` runs of equal length (by entity count: writes are what a
 * restore spends its time on); task `index` takes run `index`. So each task
 * gets whole kinds plus at most a slice at either end, every entity goes to
 * exactly one task, and the same manifest and count give the same answer in
 * every process.
 */
export interface Slice {
  /** Index of the kind in the manifest's list. */
  kind: number;
  /** Lines [from, to) of the kind's file, 0-based. */
  from: number;
  to: number;
}

export function sliceForShard(entities: readonly number[], index: number, count: number): Slice[] {
  const total = entities.reduce((n, e) => n + e, 0);
  const start = Math.floor((total * index) / count);
  const end = Math.floor((total * (index + 1)) / count);
  const out: Slice[] = [];
  let offset = 0;
  entities.forEach((n, kind) => {
    const from = Math.max(start, offset) - offset;
    const to = Math.min(end, offset + n) - offset;
    // An empty kind belongs to the task whose run covers its place (the first of equal ones), so it is still checked.
    if (to > from || (n === 0 && offset >= start && (offset < end || (index === count - 1 && offset === total)))) out.push({ kind, from: Math.max(0, from), to: Math.max(0, to) });
    offset += n;
  });
  return out;
}
