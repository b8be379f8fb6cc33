/**
 * An ordered set of items keyed by a sortable string, as a list of sorted
 * chunks: O(log n) seek, inserts and removals that move at most one chunk
 * (~1k items), and cheap in-order iteration from any key. Plain JS string
 * comparison is the order, so callers encode their order into `sortKey`
 * (see keys.ts).
 */
export interface Sortable {
  readonly sortKey: string;
}

const MAX_CHUNK = 1024;

export class SortedIndex<T extends Sortable> {
  private chunks: T[][] = [];
  private count = 0;
  /** Bumped on every change, so a running iteration knows to re-seek. */
  private mods = 0;

  get size(): number {
    return this.count;
  }

  /** Index of the chunk that holds, or would hold, `key`. */
  private chunkFor(key: string): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (chunks[mid]![0]!.sortKey <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First position in `chunk` whose key is >= key (or > key when !inclusive). */
  private static position<T extends Sortable>(chunk: T[], key: string, inclusive: boolean): number {
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const k = chunk[mid]!.sortKey;
      if (k < key || (!inclusive && k === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(key: string): T | undefined {
    if (this.count === 0) return undefined;
    const chunk = this.chunks[this.chunkFor(key)]!;
    const item = chunk[SortedIndex.position(chunk, key, true)];
    return item !== undefined && item.sortKey === key ? item : undefined;
  }

  /** Adds `item`; returns false (and changes nothing) when its key is present. */
  insert(item: T): boolean {
    this.mods++;
    if (this.count === 0) {
      this.chunks.push([item]);
      this.count = 1;
      return true;
    }
    const ci = this.chunkFor(item.sortKey);
    const chunk = this.chunks[ci]!;
    const pos = SortedIndex.position(chunk, item.sortKey, true);
    if (chunk[pos]?.sortKey === item.sortKey) return false;
    if (pos === chunk.length) chunk.push(item);
    else chunk.splice(pos, 0, item);
    this.count++;
    if (chunk.length > MAX_CHUNK) {
      // Ascending appends (the common restore pattern) leave full chunks behind.
      const cut = pos === chunk.length - 1 && ci === this.chunks.length - 1 ? chunk.length - 1 : chunk.length >> 1;
      this.chunks.splice(ci + 1, 0, chunk.splice(cut));
    }
    return true;
  }

  remove(key: string): T | undefined {
    if (this.count === 0) return undefined;
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci]!;
    const pos = SortedIndex.position(chunk, key, true);
    const item = chunk[pos];
    if (item === undefined || item.sortKey !== key) return undefined;
    this.mods++;
    chunk.splice(pos, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(ci, 1);
    return item;
  }

  /**
   * Items in ascending order from `from` (inclusive unless told otherwise).
   * Safe against changes made while iterating: it resumes after the last
   * item it yielded.
   */
  *iterate(from?: string, inclusive = true): Generator<T> {
    let mods = this.mods;
    let ci = 0;
    let pos = 0;
    const seek = (key: string, incl: boolean) => {
      if (this.count === 0) {
        ci = 0;
        pos = 0;
        return;
      }
      ci = this.chunkFor(key);
      pos = SortedIndex.position(this.chunks[ci]!, key, incl);
    };
    if (from !== undefined) seek(from, inclusive);
    for (;;) {
      const chunk = this.chunks[ci];
      if (chunk === undefined) return;
      if (pos >= chunk.length) {
        ci++;
        pos = 0;
        continue;
      }
      const item = chunk[pos++]!;
      yield item;
      if (mods !== this.mods) {
        mods = this.mods;
        seek(item.sortKey, false);
      }
    }
  }
}
