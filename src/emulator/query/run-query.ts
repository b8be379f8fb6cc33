/**
 * RunQuery: plans the query, walks its rows and cuts one batch the way
 * Datastore does — at most 300 results, offset rows counted in
 * skipped_results, `more_results` telling the client whether to continue,
 * a cursor on every result and an end cursor after the last row read.
 */
import type { IEntity, IEntityResult, IQuery, IQueryResultBatch, IValue } from '../../model/proto.js';
import type { DatabaseSnapshot } from '../snapshot.js';
import { encodeCursor, type Position } from './cursor.js';
import type { Partition } from './filters.js';
import { planQuery, type Plan } from './plan.js';
import { compareRowToPos, orderedRows, positionOf, type Row } from './rows.js';
import { compareValues, estimatePropertiesSize, projectedValue } from './values.js';
import { packedSize } from '../packed.js';
import { MAX_QUERY_BATCH_BYTES, MAX_QUERY_BATCH_RESULTS, MAX_QUERY_SKIP } from '../../model/limits.js';


export interface WalkLimits {
  /** Rows to return at most. */
  max: number;
  /** Stop after at least this many bytes of full entities (estimated). */
  maxBytes?: number;
  /** Offset rows to skip at most in this call. */
  maxSkip?: number;
  /** Counts the rows read, matched or not (query explain's execution stats). */
  stats?: RunStats;
}

/** What one run read, for query explain (explain_options.analyze). */
export interface RunStats {
  /** Index rows the walk met (entities matching the filters, in query order). */
  scanned: number;
}

/** Hooks a caller (the server) gives a run. */
export interface RunOptions {
  /** Sees the checked plan before any row is read, and may refuse it (a missing index). */
  checkPlan?: (plan: Plan, query: IQuery) => void;
  stats?: RunStats;
}

export type MoreResults = 'NOT_FINISHED' | 'MORE_RESULTS_AFTER_LIMIT' | 'MORE_RESULTS_AFTER_CURSOR' | 'NO_MORE_RESULTS';

export interface Walk {
  rows: Row[];
  skipped: number;
  lastSkipped: Row | null;
  more: MoreResults;
}

/**
 * Reads result rows after the offset, up to `max` of them (and the plan's
 * limit), honouring the end cursor and distinct_on. Shared by RunQuery
 * (max 300) and aggregations (no max).
 */
export function walk(snapshot: DatabaseSnapshot, plan: Plan, limits: WalkLimits, sink?: (row: Row) => void): Walk {
  const { max, maxSkip = Infinity } = limits;
  // Rows this call can consume: skipped ones, returned ones and one peek (distinct skips any number).
  const need = plan.distinct > 0 ? Infinity : Math.min(plan.offset, maxSkip) + Math.min(plan.limit ?? Infinity, max) + 1;
  const it = orderedRows(snapshot, plan, need);
  const rows: Row[] = [];
  let taken = 0;
  let bytes = 0;
  const maxBytes = plan.keysOnly || plan.projection !== null ? Infinity : (limits.maxBytes ?? Infinity);
  let skipped = 0;
  let lastSkipped: Row | null = null;
  const d = plan.distinct;
  // A resumed distinct query has already returned the start row's combination.
  let lastDistinct: IValue[] | null = d > 0 && plan.start ? plan.start.values.slice(0, d) : null;
  const end = plan.end;

  const next = (): Row | 'end' | null => {
    for (;;) {
      const r = it.next();
      if (r.done) return null;
      if (limits.stats) limits.stats.scanned++;
      const row = r.value;
      if (end !== undefined && end !== null && compareRowToPos(plan, row, end) > 0) return 'end';
      if (end === null) return 'end';
      if (d > 0) {
        if (lastDistinct !== null && sameDistinct(row.sort, lastDistinct, d)) continue;
        lastDistinct = row.sort.slice(0, d);
      }
      return row;
    }
  };

  let more: MoreResults;
  for (;;) {
    if (plan.limit !== null && taken >= plan.limit) {
      // A page that holds exactly the last rows says so, as the Firestore emulator does (legacy says
      // MORE_RESULTS_AFTER_LIMIT); the documented NO_MORE_RESULTS is "no more results".
      const peek = next();
      more = peek === null || peek === 'end' ? 'NO_MORE_RESULTS' : 'MORE_RESULTS_AFTER_LIMIT';
      break;
    }
    if (taken >= max || bytes >= maxBytes) {
      // Peek so a batch that happens to hold the last rows says so.
      const peek = next();
      more = peek === null || peek === 'end' ? 'NO_MORE_RESULTS' : 'NOT_FINISHED';
      break;
    }
    const row = next();
    if (row === null) {
      more = 'NO_MORE_RESULTS';
      break;
    }
    if (row === 'end') {
      // Reaching the end cursor ends the query: the Firestore emulator says NO_MORE_RESULTS (legacy
      // MORE_RESULTS_AFTER_LIMIT); the documented MORE_RESULTS_AFTER_CURSOR is never what either sends.
      more = 'NO_MORE_RESULTS';
      break;
    }
    if (skipped < plan.offset) {
      skipped++;
      lastSkipped = row;
      if (skipped >= maxSkip && skipped < plan.offset) {
        more = 'NOT_FINISHED';
        break;
      }
      continue;
    }
    taken++;
    if (maxBytes !== Infinity) bytes += packedSize(row.e) ?? estimatePropertiesSize(row.e.properties);
    if (sink) sink(row);
    else rows.push(row);
  }
  it.return(undefined);
  return { rows, skipped, lastSkipped, more };
}

function sameDistinct(a: IValue[], b: IValue[], d: number): boolean {
  for (let i = 0; i < d; i++) if (compareValues(a[i]!, b[i]!) !== 0) return false;
  return true;
}

function entityOf(plan: Plan, row: Row): IEntity {
  if (plan.keysOnly) return { key: row.e.key, properties: {} };
  if (plan.projection !== null) {
    const properties: Record<string, IValue> = {};
    for (let i = 0; i < plan.projection.length; i++) properties[plan.projection[i]!] = projectedValue(row.extra[i]!);
    return { key: row.e.key, properties };
  }
  // The stored entity itself: the wire encoder sends a packed one's bytes as they are (packed.ts).
  return row.e as IEntity;
}

export function executeQuery(snapshot: DatabaseSnapshot, partition: Partition, query: IQuery, options: RunOptions = {}): IQueryResultBatch {
  const plan = planQuery(query, partition);
  options.checkPlan?.(plan, query);
  const limits: WalkLimits = { max: MAX_QUERY_BATCH_RESULTS, maxBytes: MAX_QUERY_BATCH_BYTES, maxSkip: MAX_QUERY_SKIP };
  if (options.stats) limits.stats = options.stats;
  const { rows, skipped, lastSkipped, more } = walk(snapshot, plan, limits);
  const entityResults: IEntityResult[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    entityResults[i] = {
      entity: entityOf(plan, row),
      cursor: encodeCursor(plan.shape, positionOf(row)),
      version: row.e.version,
      createTime: row.e.createTime,
      updateTime: row.e.updateTime,
    };
  }
  let endPos: Position | null = plan.start;
  if (lastSkipped) endPos = positionOf(lastSkipped);
  const endCursor = rows.length > 0 ? entityResults[rows.length - 1]!.cursor! : encodeCursor(plan.shape, endPos);
  const batch: IQueryResultBatch = {
    entityResultType: plan.keysOnly ? 'KEY_ONLY' : plan.projection !== null ? 'PROJECTION' : 'FULL',
    entityResults,
    endCursor,
    moreResults: more,
    skippedResults: skipped,
  } as IQueryResultBatch;
  if (skipped > 0) batch.skippedCursor = encodeCursor(plan.shape, positionOf(lastSkipped!));
  return batch;
}

