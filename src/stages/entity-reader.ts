/**
 * entityReader: every entity of one kind, as the EntityResult objects
 * RunQuery returns, in key order. With splits > 1 the kind is cut into key
 * ranges from a `__scatter__` sample; the ranges are fetched in parallel,
 * each at most `readAheadPages` pages ahead of the consumer, and emitted one
 * after the other — the output is in key order (and byte-identical to a
 * single reader) however many splits read it.
 */
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { IEntityResult, IKey, IQuery, ITimestamp } from '../datastore/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { keyRangeQuery, queryPages, scatterSplitPoints, type QueryPage, type ReadContext } from '../datastore/run-query.js';
import { compareKeyPaths } from '../emulator/key-order.js';

export interface EntityReaderOptions {
  namespace: string;
  kind: string;
  /** Snapshot to read at; undefined reads current data. */
  readTime?: ITimestamp | undefined;
  /** Key ranges read in parallel (default 1). */
  splits?: number | undefined;
  /** Entities per RunQuery page (default: what Datastore returns, about 300). */
  pageSize?: number | undefined;
  keysOnly?: boolean | undefined;
  /** Read keys from this one on (inclusive), e.g. to resume after a checkpoint. */
  startAt?: IKey | undefined;
  retry?: RetryPolicy | undefined;
  /** Pages each range may hold before its consumer reaches it (default 2). */
  readAheadPages?: number | undefined;
  /** Called after each page is emitted with the number of results in it. */
  onProgress?: ((results: number) => void) | undefined;
  onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
}

export interface EntityReader extends Readable {
  /** Results emitted so far. */
  readonly results: number;
  /** RunQuery pages received. */
  readonly pages: number;
  /** Transient failures retried. */
  readonly retries: number;
  /** Key ranges the kind was read in (known once reading started). */
  readonly ranges: number;
}

/** One key range, paged ahead of its consumer into a small bounded queue. */
class RangeFetcher {
  private readonly pages: IEntityResult[][] = [];
  private finished = false;
  private failure: { err: unknown } | undefined;
  private closed = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    private readonly source: AsyncGenerator<QueryPage>,
    private readonly maxPages: number,
    private readonly schedule: <T>(fn: () => Promise<T>) => Promise<T>,
    private readonly onPage: () => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.run().catch((err: unknown) => {
      this.failure = { err };
      this.wake();
      // Fail fast: a range the consumer has not reached yet must not wait to report.
      if (!this.closed) this.onError(err);
    });
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      while (this.pages.length >= this.maxPages && !this.closed) await new Promise<void>((r) => (this.wakeProducer = r));
      if (this.closed) return;
      const step = await this.schedule(() => this.source.next());
      if (step.done) break;
      this.onPage();
      if (step.value.results.length > 0) this.pages.push(step.value.results);
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
    const w = this.wakeProducer;
    this.wakeProducer = undefined;
    w?.();
    return page ?? null;
  }

  close(): void {
    this.closed = true;
    const w = this.wakeProducer;
    this.wakeProducer = undefined;
    w?.();
    void this.source.return(undefined).catch(() => {});
  }
}

class EntityReaderStream extends Readable implements EntityReader {
  results = 0;
  pages = 0;
  retries = 0;
  ranges = 0;
  private fetchers: RangeFetcher[] = [];
  private current = 0;
  private pumping = false;
  private readonly abort = new AbortController();
  private readonly ctx: ReadContext;

  constructor(
    private readonly client: DatastoreClient,
    private readonly connection: Connection,
    private readonly options: EntityReaderOptions,
  ) {
    // A few pages of results: the fetchers' queues hold the read-ahead.
    super({ objectMode: true, highWaterMark: 512 });
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
    const splits = Math.max(1, this.options.splits ?? 1);
    const points = splits > 1 ? await scatterSplitPoints(this.client, this.connection, namespace, kind, splits, this.ctx) : [];
    const startAt = this.options.startAt;
    const after = startAt ? points.filter((p) => compareKeyPaths(p, startAt) > 0) : points;
    const bounds: Array<IKey | undefined> = [startAt, ...after, undefined];
    const extra: IQuery = {};
    if (this.options.pageSize !== undefined) extra.limit = { value: this.options.pageSize };
    if (this.options.keysOnly) extra.projection = [{ property: { name: '__key__' } }];
    const limit = pLimit(splits);
    const schedule = <T>(fn: () => Promise<T>) => limit(fn);
    for (let i = 0; i + 1 < bounds.length; i++) {
      const query = keyRangeQuery(kind, bounds[i], bounds[i + 1], extra);
      const source = queryPages(this.client, this.connection, namespace, query, this.ctx);
      this.fetchers.push(new RangeFetcher(source, Math.max(1, this.options.readAheadPages ?? 2), schedule, () => this.pages++, (err) => this.destroy(err as Error)));
    }
    this.ranges = this.fetchers.length;
    for (const f of this.fetchers) f.start();
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
        continue;
      }
      let more = true;
      // The whole page goes in even past the high-water mark: at most one page over, then we wait.
      for (const result of page) more = this.push(result);
      this.results += page.length;
      this.options.onProgress?.(page.length);
      // Cleared synchronously: Readable may call _read again before a promise callback would run.
      if (!more) {
        this.pumping = false;
        return;
      }
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.abort.abort();
    for (const f of this.fetchers) f.close();
    callback(err);
  }
}

/** A Readable of one kind's EntityResults (see the file comment). */
export function createEntityReader(client: DatastoreClient, connection: Connection, options: EntityReaderOptions): EntityReader {
  return new EntityReaderStream(client, connection, options);
}
