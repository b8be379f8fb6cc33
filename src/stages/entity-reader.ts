/**
 * entityReader: every entity of one kind, as the EntityResult objects
 * RunQuery returns, in key order. With splits > 1 the kind is cut into key
 * ranges from a `__scatter__` sample (`ranges` of them, at least `splits`);
 * `splits` RunQuery streams fetch them in parallel, lowest ranges first (a
 * stream that finishes its range starts the next one nobody has started), and
 * the ranges are emitted one after the other — the output is in key order (and
 * byte-identical to a single reader) however many streams read it.
 *
 * Why more ranges than streams: the output is in key order, so whatever the
 * streams ahead of the consumer fetch must be held until the consumer gets
 * there. With as many ranges as streams, the streams ahead would have to hold
 * most of the kind for all of them to keep reading, or else stall, and a big
 * kind would be read at the speed of one stream. With small ranges they hold
 * at most a few ranges' worth (about splits - 1) and keep reading.
 *
 * The range being consumed reads at most `readAheadPages` pages ahead of its
 * consumer. Given a ReadAheadBudget, the ranges the consumer has not reached
 * yet share one bound on the bytes they hold, across every reader given the
 * same budget (a dump's kinds): memory stays flat however many kinds and
 * streams are read at once. Without one, they too hold `readAheadPages` pages
 * each. The range being consumed never waits for the budget, so a reader
 * always makes progress.
 */
import { Readable } from 'node:stream';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { IEntityResult, IKey, IQuery, ITimestamp } from '../model/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { keyRangeQuery, queryPages, scatterSplitPoints, type PageFetcher, type QueryPage, type ReadContext } from '../datastore/run-query.js';
import { isLinesPage } from '../datastore/raw-run-query.js';
import { compareKeyPaths } from '../model/key-order.js';

export interface EntityReaderOptions {
  namespace: string;
  kind: string;
  /** Snapshot to read at; undefined reads current data. */
  readTime?: ITimestamp | undefined;
  /** RunQuery streams reading the kind in parallel (default 1). */
  splits?: number | undefined;
  /**
   * Key ranges the kind is cut into (default and at least: `splits`), read by
   * the `splits` streams lowest first. More ranges than streams keep the
   * streams reading without holding most of the kind (see the file comment).
   */
  ranges?: number | undefined;
  /** Entities per RunQuery page (default: what Datastore returns, about 300). */
  pageSize?: number | undefined;
  keysOnly?: boolean | undefined;
  /** Read keys from this one on (inclusive), e.g. to resume after a checkpoint. */
  startAt?: IKey | undefined;
  /** Stop before this key (exclusive): with startAt, one key range of a sharded dump. */
  endBefore?: IKey | undefined;
  retry?: RetryPolicy | undefined;
  /** Pages the range being consumed may hold ahead of its consumer, and without a budget every range (default 2). */
  readAheadPages?: number | undefined;
  /** Shared bound on the bytes held by ranges not yet being consumed (default: none but readAheadPages). */
  budget?: ReadAheadBudget | undefined;
  /** Called after each page is emitted with the number of results in it. */
  onProgress?: ((results: number) => void) | undefined;
  onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
  /**
   * How the key ranges' pages are fetched (the split sample always goes by the
   * object path). Given datastore/raw-run-query.ts's wirePageFetcher, the
   * reader emits one LinesPage (a buffer of dump lines) per page instead of
   * EntityResults.
   */
  fetchPage?: PageFetcher | undefined;
  /**
   * The streams of a whole dump, shared by its kinds: beside its own `splits`
   * streams (always granted), the reader starts more, up to `maxSplits` in
   * all, while the pool counts fewer than its size. A dump of one big kind (or
   * its last kind, alone at the end) then reads with the streams the other
   * kinds would have used.
   */
  pool?: { streams: StreamPool; maxSplits: number } | undefined;
}

/**
 * RunQuery streams counted across the readers of one dump. A reader's own
 * streams are always granted (a kind starting while others hold every slot
 * still reads at its own pace), so the count can pass `size` for a moment;
 * the streams beyond a reader's own are granted only below it, and once one
 * ends, the readers still wanting streams are told, the one that freed it
 * first.
 */
export class StreamPool {
  private used = 0;
  /** The most streams that read at once. */
  peak = 0;
  private readonly wanting = new Set<() => void>();

  constructor(readonly size: number) {}

  /** Streams reading now. */
  get reading(): number {
    return this.used;
  }

  /** One of a reader's own streams: always granted. */
  take(): void {
    if (++this.used > this.peak) this.peak = this.used;
  }

  /** A stream beyond a reader's own: granted only while fewer than `size` read. */
  tryTake(): boolean {
    if (this.used >= this.size) return false;
    this.take();
    return true;
  }

  /** A stream ended; `own` (the reader it was of) is offered the slot first, then every reader wanting one. */
  give(own: () => void): void {
    this.used--;
    own();
    for (const w of [...this.wanting]) if (w !== own) w();
  }

  /** Calls `w` each time a stream of another reader ends, until `stop`. */
  want(w: () => void): void {
    this.wanting.add(w);
  }

  stop(w: () => void): void {
    this.wanting.delete(w);
  }
}

/** Its chunks are RunQuery's EntityResults (`result.entity`, `result.version`, ...). */
export interface EntityReader extends Readable {
  [Symbol.asyncIterator](): AsyncIterableIterator<IEntityResult>;
  // the untyped signature too, so pipeline() still takes it as a NodeJS.ReadableStream
  [Symbol.asyncIterator](): AsyncIterableIterator<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Results emitted so far. */
  readonly results: number;
  /** RunQuery pages received. */
  readonly pages: number;
  /** Transient failures retried. */
  readonly retries: number;
  /** Key ranges the kind was read in (known once reading started). */
  readonly ranges: number;
  /** The most RunQuery streams that read at once (known once reading ended). */
  readonly mostStreams: number;
}

/**
 * What an entity of a held page costs of a ReadAheadBudget when the page's
 * size in bytes is not known (object-path pages: arrays of EntityResult
 * objects): a page of 300 decoded ~1 KB entities took ~2.3 MB of heap
 * (bench/README.md, Memory).
 */
export const OBJECT_ENTITY_BYTES = 8192;

/** A page's cost in budget bytes: its dump lines' bytes on the wire path, else OBJECT_ENTITY_BYTES an entity. */
export function pageCost(page: { bytes?: number | undefined; entities?: number | undefined; results: readonly unknown[] }): number {
  return page.bytes ?? (page.entities ?? page.results.length) * OBJECT_ENTITY_BYTES;
}

/**
 * Bytes read ahead by key ranges their consumers have not reached yet,
 * shared by readers. A range takes its next page's worth (its largest page so
 * far, first the page size or 300 entities at OBJECT_ENTITY_BYTES) before
 * asking for it and trues the amount up when the page arrives; it gives it
 * back as the page is emitted. Waiting ranges are woken in range order, so
 * the range read next gets room first.
 */
export class ReadAheadBudget {
  private used = 0;
  private most = 0;
  private waiters: Array<{ rank: number; wake: () => void }> = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`read-ahead budget must be at least 1 byte, got ${limit}`);
  }

  /** Bytes taken now. */
  get inUse(): number {
    return this.used;
  }

  /** The most ever taken at once. */
  get peak(): number {
    return this.most;
  }

  /** Takes n if they fit, or if nothing is taken (a page larger than the whole budget must still be read). */
  tryTake(n: number): boolean {
    if (this.used > 0 && this.used + n > this.limit) return false;
    this.force(n);
    return true;
  }

  /** Takes n whether they fit or not: a page came back larger than what was taken for it. */
  force(n: number): void {
    this.used += n;
    if (this.used > this.most) this.most = this.used;
  }

  give(n: number): void {
    if (n <= 0) return;
    this.used -= n;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.wake();
  }

  /** Resolves at the next give (lower ranks first). */
  wait(rank: number): Promise<void> {
    return new Promise<void>((wake) => {
      let i = this.waiters.length;
      while (i > 0 && this.waiters[i - 1]!.rank > rank) i--;
      this.waiters.splice(i, 0, { rank, wake });
    });
  }
}

/** What the ranges of one reader take of the budget before asking for a page. */
interface PageSize {
  /** First a guess (the page size, or 300, entities at OBJECT_ENTITY_BYTES), then the largest page so far. */
  estimate: number;
  /** Whether a page has arrived (the guess replaced). */
  known: boolean;
}

/** A page waiting for its consumer, with what it took from the budget. */
interface HeldPage {
  results: IEntityResult[];
  taken: number;
}

/** One key range, paged ahead of its consumer into a bounded queue. */
class RangeFetcher {
  private readonly pages: HeldPage[] = [];
  private finished = false;
  private failure: { err: unknown } | undefined;
  private closed = false;
  private started = false;
  /** Being consumed: it reads on without the budget. */
  private current = false;
  /** Bytes this range holds of the budget. */
  private taken = 0;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    private readonly source: AsyncGenerator<QueryPage>,
    private readonly maxPages: number,
    private readonly onPage: () => void,
    private readonly onError: (err: unknown) => void,
    /** Fetching ended (the range is read to its end, failed or was closed): its stream may start another range. */
    private readonly onFetched: () => void,
    private readonly budget: ReadAheadBudget | undefined,
    /** Order in which the consumer reaches this range. */
    private readonly rank: number,
    /** Budget bytes taken before asking for a page: the largest page any range of the kind has had so far. */
    private readonly size: PageSize,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.run()
      .catch((err: unknown) => {
        this.failure = { err };
        this.wake();
        // Fail fast: a range the consumer has not reached yet must not wait to report.
        if (!this.closed) this.onError(err);
      })
      .finally(() => this.onFetched());
  }

  /** The consumer reached this range: from now on it reads without waiting for the budget. */
  makeCurrent(): void {
    this.current = true;
    this.wakeProducerNow();
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }

  private wakeProducerNow(): void {
    const w = this.wakeProducer;
    this.wakeProducer = undefined;
    w?.();
  }

  private take(n: number, force: boolean): boolean {
    if (this.closed || this.budget === undefined) return false;
    if (force) this.budget.force(n);
    else if (!this.budget.tryTake(n)) return false;
    this.taken += n;
    return true;
  }

  private giveBack(n: number): void {
    const k = Math.min(n, this.taken);
    this.taken -= k;
    this.budget?.give(k);
  }

  /** Waits until the budget has room for the next page or the consumer reaches this range; returns what was taken. */
  private async reserve(): Promise<number> {
    if (this.budget === undefined) return 0;
    for (;;) {
      if (this.current || this.closed) return 0;
      const n = this.size.estimate;
      if (this.take(n, false)) return n;
      await Promise.race([this.budget.wait(this.rank), new Promise<void>((r) => (this.wakeProducer = r))]);
      this.wakeProducer = undefined;
    }
  }

  /**
   * Whether the queue is full: the range being consumed (or, without a
   * budget, any range) holds at most maxPages; a range ahead of its consumer
   * is bounded by the budget instead, which reserve() waits for.
   */
  private full(): boolean {
    return (this.current || this.budget === undefined) && this.pages.length >= this.maxPages;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      while (this.full() && !this.closed) await new Promise<void>((r) => (this.wakeProducer = r));
      if (this.closed) return;
      let taken = await this.reserve();
      if (this.closed) return;
      let step: IteratorResult<QueryPage>;
      try {
        step = await this.source.next();
      } catch (err) {
        this.giveBack(taken);
        throw err;
      }
      if (step.done) {
        this.giveBack(taken);
        break;
      }
      this.onPage();
      const n = step.value.entities ?? step.value.results.length;
      const cost = pageCost(step.value);
      // the first page replaces the first guess; then the largest page so far
      if (!this.size.known || cost > this.size.estimate) this.size.estimate = cost;
      this.size.known = true;
      if (cost < taken) this.giveBack(taken - cost);
      else if (cost > taken && taken > 0 && this.take(cost - taken, true)) taken = cost;
      taken = Math.min(taken, cost);
      if (n > 0) this.pages.push({ results: step.value.results, taken });
      else this.giveBack(taken);
      this.wake();
    }
    this.finished = true;
    this.wake();
  }

  /** The next page, or null at the end of the range. */
  async next(): Promise<IEntityResult[] | null> {
    while (this.pages.length === 0 && !this.finished && this.failure === undefined) {
      await new Promise<void>((r) => (this.wakeConsumer = r));
    }
    if (this.failure) throw this.failure.err;
    const page = this.pages.shift();
    if (page) this.giveBack(page.taken);
    this.wakeProducerNow();
    return page?.results ?? null;
  }

  close(): void {
    this.closed = true;
    this.giveBack(this.taken);
    this.wakeProducerNow();
    void this.source.return(undefined).catch(() => {});
  }
}

class EntityReaderStream extends Readable implements EntityReader {
  results = 0;
  pages = 0;
  retries = 0;
  ranges = 0;
  mostStreams = 0;
  private fetchers: RangeFetcher[] = [];
  private current = 0;
  private pumping = false;
  /** Leaves the pool's list of readers wanting more streams (set once planned). */
  private stopWanting: () => void = () => {};
  private readonly abort = new AbortController();
  private readonly ctx: ReadContext;

  constructor(
    private readonly client: DatastoreClient,
    private readonly connection: Connection,
    private readonly options: EntityReaderOptions,
  ) {
    // Under a page: the fetchers' queues hold the read-ahead, and a whole page is pushed at once anyway.
    // On the wire path a chunk is a whole page (a LinesPage), so 64 of them would be a read-ahead of
    // 64 pages outside the budget: one is pushed ahead of what the consumer is writing.
    super({ objectMode: true, highWaterMark: options.fetchPage ? 1 : 64 });
    this.ctx = {
      readTime: options.readTime,
      retry: options.retry,
      signal: this.abort.signal,
      onRetry: (err, attempt, delayMs) => {
        this.retries++;
        options.onRetry?.(err, attempt, delayMs);
      },
    };
  }

  override _construct(callback: (err?: Error | null) => void): void {
    this.plan().then(() => callback(), (err: Error) => callback(err));
  }

  private async plan(): Promise<void> {
    const { namespace, kind } = this.options;
    const streams = Math.max(1, this.options.splits ?? 1);
    const ranges = streams > 1 ? Math.max(streams, this.options.ranges ?? streams) : 1;
    const points = ranges > 1 ? await scatterSplitPoints(this.client, this.connection, namespace, kind, ranges, this.ctx) : [];
    const startAt = this.options.startAt;
    const endBefore = this.options.endBefore;
    const inside = points.filter((p) => (!startAt || compareKeyPaths(p, startAt) > 0) && (!endBefore || compareKeyPaths(p, endBefore) < 0));
    const bounds: Array<IKey | undefined> = [startAt, ...inside, endBefore];
    const extra: IQuery = {};
    if (this.options.pageSize !== undefined) extra.limit = { value: this.options.pageSize };
    if (this.options.keysOnly) extra.projection = [{ property: { name: '__key__' } }];
    const maxPages = Math.max(1, this.options.readAheadPages ?? 2);
    const size: PageSize = { estimate: (this.options.pageSize ?? 300) * OBJECT_ENTITY_BYTES, known: false };
    let next = 0;
    let reading = 0;
    const pool = this.options.pool;
    const most = pool ? Math.max(streams, pool.maxSplits) : streams;
    // Lowest ranges first: the consumer's range is always among those started (they start in range order).
    const startMore = () => {
      while (next < this.fetchers.length && !this.destroyed) {
        if (reading < streams) pool?.streams.take();
        else if (!(reading < most && pool?.streams.tryTake())) break;
        reading++;
        if (reading > this.mostStreams) this.mostStreams = reading;
        this.fetchers[next++]!.start();
      }
      if (pool && (next >= this.fetchers.length || this.destroyed)) pool.streams.stop(startMore);
    };
    this.stopWanting = () => pool?.streams.stop(startMore);
    const fetched = () => {
      reading--;
      if (pool) pool.streams.give(startMore);
      else startMore();
    };
    for (let i = 0; i + 1 < bounds.length; i++) {
      const query = keyRangeQuery(kind, bounds[i], bounds[i + 1], extra);
      const source = queryPages(this.client, this.connection, namespace, query, this.ctx, this.options.fetchPage);
      this.fetchers.push(
        new RangeFetcher(source, maxPages, () => this.pages++, (err) => this.destroy(err as Error), fetched, this.options.budget, i, size),
      );
    }
    this.ranges = this.fetchers.length;
    this.fetchers[0]?.makeCurrent();
    if (pool && most > streams) pool.streams.want(startMore);
    startMore();
  }

  override _read(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pump().catch((err: Error) => this.destroy(err));
  }

  private async pump(): Promise<void> {
    for (;;) {
      const fetcher = this.fetchers[this.current];
      if (fetcher === undefined) {
        this.push(null);
        return;
      }
      let page: IEntityResult[] | null;
      try {
        page = await fetcher.next();
      } catch (err) {
        this.pumping = false;
        throw err;
      }
      if (this.destroyed) return;
      if (page === null) {
        this.current++;
        this.fetchers[this.current]?.makeCurrent();
        continue;
      }
      let more = true;
      let kept = 0;
      const databaseId = this.connection.databaseId;
      // The whole page goes in even past the high-water mark: at most one page over, then we wait.
      for (const result of page) {
        if (isLinesPage(result)) {
          // already filtered by database (raw-run-query.ts)
          more = this.push(result);
          kept += result.count;
          continue;
        }
        // Google's legacy emulator answers a query in a named database with the entities of every
        // database of the project (Lookup keeps them apart); production never does. Not ours: dropped.
        if ((result.entity?.key?.partitionId?.databaseId ?? '') !== databaseId) continue;
        more = this.push(result);
        kept++;
      }
      this.results += kept;
      this.options.onProgress?.(kept);
      // Cleared synchronously: Readable may call _read again before a promise callback would run.
      if (!more) {
        this.pumping = false;
        return;
      }
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.stopWanting();
    this.abort.abort();
    for (const f of this.fetchers) f.close();
    callback(err);
  }
}

/** A Readable of one kind's EntityResults (see the file comment). */
export function createEntityReader(client: DatastoreClient, connection: Connection, options: EntityReaderOptions): EntityReader {
  return new EntityReaderStream(client, connection, options);
}
