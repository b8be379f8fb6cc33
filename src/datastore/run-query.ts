/**
 * RunQuery and friends with our retry policy instead of google-gax's: every
 * call passes `{ retry: null }` (gax then makes exactly one attempt) and is
 * wrapped in withRetry, so transient faults are visible, logged and retried
 * by one policy. Paging resumes from the last cursor received, so a retried
 * page never duplicates or skips entities.
 */
import type { CallOptions } from 'google-gax';
import { requestBase, type Connection, type DatastoreClient } from './connection.js';
import { withRetry, DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import type { IEntityResult, IKey, ILookupResponse, IQuery, IReadOptions, IRunQueryResponse, ITimestamp } from '../model/proto.js';
import type { google } from '@google-cloud/datastore/build/protos/protos.js';

type IRunAggregationQueryResponse = google.datastore.v1.IRunAggregationQueryResponse;
import { formatTimestamp, parseTimestamp } from '../format/timestamp.js';
import { DspipeError } from '../errors.js';
import { compareKeyPaths } from '../model/key-order.js';

/** One attempt per gax call: our withRetry decides about retries. */
export const SINGLE_ATTEMPT: CallOptions = { retry: null };

export interface ReadContext {
  /** Snapshot to read at; undefined reads current data. */
  readTime?: ITimestamp | undefined;
  retry?: RetryPolicy | undefined;
  /** Called before each retry wait with the failed attempt's error. */
  onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export function readOptionsFor(readTime: ITimestamp | undefined): IReadOptions | undefined {
  return readTime === undefined ? undefined : { readTime };
}

function partition(connection: Connection, namespace: string) {
  return { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: namespace };
}

function retrying<T>(ctx: ReadContext, op: () => Promise<T>): Promise<T> {
  const hooks: Parameters<typeof withRetry>[2] = {};
  if (ctx.onRetry) hooks.onRetry = ctx.onRetry;
  if (ctx.signal) hooks.signal = ctx.signal;
  return withRetry(() => {
    ctx.signal?.throwIfAborted();
    return op();
  }, ctx.retry ?? DEFAULT_RETRY, hooks);
}

export interface QueryPage {
  /** The results; on the wire path (raw-run-query.ts) one LinesPage holding all of them as dump lines. */
  results: IEntityResult[];
  /** Entities the page holds when `results` does not list them one by one. */
  entities?: number;
  /** Bytes the page holds, when known (the wire path's dump lines): what it costs of a read-ahead budget. */
  bytes?: number;
  /** Cursor after the last result (start the next page here). */
  endCursor: Buffer | Uint8Array | undefined;
  /** True when the query has no more results. */
  done: boolean;
}

/**
 * Whether a batch ends the query, as the official client decides: only
 * NOT_FINISHED goes on, and MORE_RESULTS_AFTER_LIMIT only when the batch
 * filled the query's limit (our page size: the next page may hold more).
 * Google's legacy emulator ends every unlimited query, and the short last
 * page of a limited one, with MORE_RESULTS_AFTER_LIMIT and would answer the
 * next page with nothing and the same cursor forever (BACKENDS.md, 1);
 * production and the Firestore emulator say NO_MORE_RESULTS there.
 * MORE_RESULTS_AFTER_CURSOR only follows an end cursor, which we never set.
 */
export function isLastBatch(moreResults: string, results: number, limit: number | undefined): boolean {
  if (moreResults === 'NOT_FINISHED') return false;
  if (moreResults === 'MORE_RESULTS_AFTER_LIMIT') return limit === undefined || results < limit;
  return true;
}

function limitOf(query: IQuery): number | undefined {
  const v = (query.limit as { value?: number | null } | null | undefined)?.value;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** The RunQueryRequest for the page of `query` starting at `startCursor`. */
export function runQueryRequest(connection: Connection, namespace: string, query: IQuery, startCursor: Buffer | Uint8Array | undefined, readTime: ITimestamp | undefined) {
  const q: IQuery = startCursor === undefined ? query : { ...query, startCursor };
  return { ...requestBase(connection), partitionId: partition(connection, namespace), query: q, readOptions: readOptionsFor(readTime) };
}

/** Fetches one page of a query; runQueryPage is the object path's, raw-run-query.ts has the wire path's. */
export type PageFetcher = (namespace: string, query: IQuery, startCursor: Buffer | Uint8Array | undefined, ctx: ReadContext) => Promise<QueryPage>;

export function limitOfQuery(query: IQuery): number | undefined {
  return limitOf(query);
}

/** Runs `op` with the context's retry policy, hooks and signal. */
export function retryingRead<T>(ctx: ReadContext, op: () => Promise<T>): Promise<T> {
  return retrying(ctx, op);
}

/** One RunQuery call (retried on transient errors): the page starting at `startCursor`. */
export async function runQueryPage(
  client: DatastoreClient,
  connection: Connection,
  namespace: string,
  query: IQuery,
  startCursor: Buffer | Uint8Array | undefined,
  ctx: ReadContext = {},
): Promise<QueryPage> {
  const [response] = await retrying<[IRunQueryResponse]>(ctx, () =>
    client.runQuery(runQueryRequest(connection, namespace, query, startCursor, ctx.readTime), SINGLE_ATTEMPT),
  );
  const batch = response.batch ?? {};
  const results = batch.entityResults ?? [];
  const more = String(batch.moreResults ?? 'NO_MORE_RESULTS');
  const endCursor = (batch.endCursor ?? undefined) as Buffer | undefined;
  const done = isLastBatch(more, results.length, limitOf(query));
  return { results, endCursor, done };
}

/**
 * Every page of a query, following cursors. Stops when Datastore says there
 * are no more results; refuses to spin when a page neither returns anything
 * nor moves the cursor.
 */
export async function* queryPages(
  client: DatastoreClient,
  connection: Connection,
  namespace: string,
  query: IQuery,
  ctx: ReadContext = {},
  fetchPage?: PageFetcher,
): AsyncGenerator<QueryPage> {
  let cursor: Buffer | Uint8Array | undefined;
  let stalls = 0;
  for (;;) {
    const page = fetchPage ? await fetchPage(namespace, query, cursor, ctx) : await runQueryPage(client, connection, namespace, query, cursor, ctx);
    yield page;
    if (page.done) return;
    const moved = page.endCursor !== undefined && (cursor === undefined || !Buffer.from(page.endCursor).equals(Buffer.from(cursor)));
    const n = page.entities ?? page.results.length;
    if (n === 0 && !moved && ++stalls > 100) {
      throw new DspipeError('DSPIPE_RPC_FAILED', 'RunQuery keeps returning empty pages without moving its cursor', {
        namespace,
        kind: query.kind?.[0]?.name ?? undefined,
      });
    }
    if (n > 0 || moved) stalls = 0;
    cursor = page.endCursor ?? cursor;
  }
}

/** Entities of a kind by a count aggregation at the read time, or undefined if the backend cannot count. */
export async function countKind(
  client: DatastoreClient,
  connection: Connection,
  namespace: string,
  kind: string,
  ctx: ReadContext = {},
): Promise<number | undefined> {
  try {
    const [response] = await retrying<[IRunAggregationQueryResponse]>(ctx, () =>
      client.runAggregationQuery(
        {
          ...requestBase(connection),
          partitionId: partition(connection, namespace),
          aggregationQuery: { nestedQuery: { kind: [{ name: kind }] }, aggregations: [{ alias: 'n', count: {} }] },
          readOptions: readOptionsFor(ctx.readTime),
        },
        SINGLE_ATTEMPT,
      ),
    );
    const value = response.batch?.aggregationResults?.[0]?.aggregateProperties?.n?.integerValue;
    return value === undefined || value === null ? undefined : Number(value);
  } catch (err) {
    // Counting only feeds progress and the split decision; a backend without aggregations still dumps.
    if ((err as { code?: unknown }).code === 12 /* UNIMPLEMENTED */) return undefined;
    throw err;
  }
}

/**
 * A snapshot time from the server's own clock: a Lookup's read_time. The
 * local clock may run ahead of Datastore's, and a read time in the future is
 * refused; the server's time is by definition not. Truncated to microseconds,
 * the precision Datastore accepts for read times.
 *
 * Undefined when the backend reports none. Google's legacy emulator never
 * does, and it also ignores read times it is sent (BACKENDS.md, 2): a backend
 * that reports no read time cannot be trusted to read at one.
 */
export async function reportedReadTime(client: DatastoreClient, connection: Connection, ctx: ReadContext = {}): Promise<ITimestamp | undefined> {
  const probe: IKey = { partitionId: partition(connection, ''), path: [{ kind: 'dspipe-read-time', name: 'probe' }] };
  const [response] = await retrying<[ILookupResponse]>(ctx, () =>
    client.lookup({ ...requestBase(connection), keys: [probe] }, SINGLE_ATTEMPT),
  );
  const t = response.readTime;
  if (!t || t.seconds === undefined || t.seconds === null || (String(t.seconds) === '0' && !t.nanos)) return undefined;
  const nanos = Number(t.nanos ?? 0);
  return { seconds: String(t.seconds), nanos: nanos - (nanos % 1000) };
}

/** The server's read time, for callers that cannot go on without one. */
export async function serverReadTime(client: DatastoreClient, connection: Connection, ctx: ReadContext = {}): Promise<ITimestamp> {
  const t = await reportedReadTime(client, connection, ctx);
  if (t === undefined) {
    throw new DspipeError('DSPIPE_RPC_FAILED', 'this Datastore reports no read time (Google\'s legacy emulator never does)', {
      hint: 'read current data instead (--no-snapshot)',
    });
  }
  return t;
}

export function timestampToRfc3339(t: ITimestamp): string {
  return formatTimestamp(Number(t.seconds ?? 0), Number(t.nanos ?? 0));
}

export function rfc3339ToTimestamp(text: string): ITimestamp {
  const parsed = parseTimestamp(text);
  if (typeof parsed === 'string') throw new DspipeError('DSPIPE_INVALID_OPTION', parsed);
  return { seconds: String(parsed.seconds), nanos: parsed.nanos };
}

/** Scatter keys sampled per split point, as Google's query splitters oversample. */
const KEYS_PER_SPLIT = 32;

/**
 * Up to `splits - 1` keys that cut a kind into ranges of about equal size,
 * in key order. `__scatter__` orders a pseudo-random sample of the kind's
 * keys; sorting a 32x oversample by key and taking evenly spaced keys gives
 * balanced ranges. Fewer points come back when the kind is small.
 */
export async function scatterSplitPoints(
  client: DatastoreClient,
  connection: Connection,
  namespace: string,
  kind: string,
  splits: number,
  ctx: ReadContext = {},
): Promise<IKey[]> {
  if (splits <= 1) return [];
  const query: IQuery = {
    kind: [{ name: kind }],
    order: [{ property: { name: '__scatter__' }, direction: 'ASCENDING' }],
    projection: [{ property: { name: '__key__' } }],
    limit: { value: (splits - 1) * KEYS_PER_SPLIT },
  };
  const sample: IKey[] = [];
  for await (const page of queryPages(client, connection, namespace, query, ctx)) {
    for (const r of page.results) if (r.entity?.key) sample.push(r.entity.key);
    if (sample.length >= (splits - 1) * KEYS_PER_SPLIT) break;
  }
  return pickSplitPoints(sample, splits);
}

/** Evenly spaced, distinct keys of a sample, sorted in Datastore key order. */
export function pickSplitPoints(sample: readonly IKey[], splits: number): IKey[] {
  const sorted = [...sample].sort(compareKeyPaths);
  const points: IKey[] = [];
  for (let i = 1; i < splits && sorted.length > 0; i++) {
    const key = sorted[Math.floor((i * sorted.length) / splits)]!;
    const last = points[points.length - 1];
    if (last === undefined || compareKeyPaths(last, key) < 0) points.push(key);
  }
  return points;
}

/** The query for the keys in [start, end) of a kind, in key order (either bound may be open). */
export function keyRangeQuery(kind: string, start: IKey | undefined, end: IKey | undefined, extra: IQuery = {}): IQuery {
  const filters = [];
  if (start) filters.push({ propertyFilter: { property: { name: '__key__' }, op: 'GREATER_THAN_OR_EQUAL' as const, value: { keyValue: start } } });
  if (end) filters.push({ propertyFilter: { property: { name: '__key__' }, op: 'LESS_THAN' as const, value: { keyValue: end } } });
  const query: IQuery = { ...extra, kind: [{ name: kind }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] };
  if (filters.length === 1) query.filter = filters[0]!;
  if (filters.length === 2) query.filter = { compositeFilter: { op: 'AND', filters } };
  return query;
}
