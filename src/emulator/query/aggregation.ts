/**
 * RunAggregationQuery over the rows of the nested query (its filters,
 * cursors, offset and limit all apply): COUNT (optionally capped by up_to),
 * SUM and AVG. As Datastore documents, SUM of integers stays an integer
 * unless it overflows int64 (then, like any sum touching a double, it is a
 * double), AVG is always a double (null when nothing numeric was seen), and
 * non-numeric values are ignored. One to five aggregations, unique aliases,
 * defaults named property_1, property_2, ...
 */
import type { google } from '@google-cloud/datastore/build/protos/protos.js';
import type { IAggregationQuery, IValue } from '../../model/proto.js';
import type { DatabaseSnapshot } from '../snapshot.js';
import { invalid } from './errors.js';
import type { Partition } from './filters.js';
import { planQuery } from './plan.js';
import type { Row } from './rows.js';
import { walk, type RunOptions } from './run-query.js';
import { doubleOf, indexedValues, valueTypeOf } from './values.js';
import { MAX_AGGREGATIONS } from '../../model/limits.js';

type IAggregationResultBatch = google.datastore.v1.IAggregationResultBatch;

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

interface Accumulator {
  alias: string;
  kind: 'count' | 'sum' | 'avg';
  /** Counts only: add n rows at once. */
  addMany(n: number): void;
  /** For COUNT with up_to: rows beyond this cannot change the result. */
  cap: number | null;
  add(row: Row): void;
  result(): IValue;
}

/** The property's single numeric value; arrays and excluded values do not count. */
function numericOf(row: Row, name: string): IValue | undefined {
  const raw = row.e.properties[name];
  if (raw !== undefined && valueTypeOf(raw) === 'arrayValue') return undefined;
  const vals = indexedValues(row.e.properties, name);
  if (vals.length !== 1) return undefined;
  const t = valueTypeOf(vals[0]!);
  return t === 'integerValue' || t === 'doubleValue' ? vals[0] : undefined;
}

function countOf(alias: string, upTo: number | null): Accumulator {
  let n = 0;
  return {
    alias,
    kind: 'count',
    cap: upTo,
    add() {
      n++;
    },
    addMany(k) {
      n += k;
    },
    result: () => ({ valueType: 'integerValue', integerValue: String(upTo === null ? n : Math.min(n, upTo)) }) as IValue,
  };
}

function sumOf(alias: string, name: string, average: boolean): Accumulator {
  let intSum = 0n;
  let dblSum = 0;
  let sawDouble = false;
  let n = 0;
  return {
    alias,
    kind: average ? 'avg' : 'sum',
    cap: null,
    addMany() {
      throw new Error('sum and avg need the rows');
    },
    add(row) {
      const v = numericOf(row, name);
      if (v === undefined) return;
      n++;
      if (valueTypeOf(v) === 'integerValue') intSum += BigInt(String(v.integerValue ?? '0'));
      else {
        sawDouble = true;
        dblSum += doubleOf(v);
      }
    },
    result() {
      if (average) {
        if (n === 0) return { valueType: 'nullValue', nullValue: 'NULL_VALUE' } as IValue;
        return { valueType: 'doubleValue', doubleValue: (Number(intSum) + dblSum) / n } as IValue;
      }
      if (!sawDouble && intSum >= INT64_MIN && intSum <= INT64_MAX) return { valueType: 'integerValue', integerValue: intSum.toString() } as IValue;
      return { valueType: 'doubleValue', doubleValue: Number(intSum) + dblSum } as IValue;
    },
  };
}

function propertyName(ref: { name?: string | null } | null | undefined, what: string): string {
  const name = ref?.name ?? '';
  if (name === '') throw invalid(`${what} aggregation must name a property.`);
  if (name === '__key__') throw invalid(`${what} aggregation cannot be on __key__.`);
  return name;
}

export function executeAggregation(snapshot: DatabaseSnapshot, partition: Partition, aq: IAggregationQuery, options: RunOptions = {}): IAggregationResultBatch {
  const nested = aq.nestedQuery;
  if (!nested) throw invalid('An aggregation query must have a nested query.');
  const aggs = aq.aggregations ?? [];
  if (aggs.length === 0) throw invalid('An aggregation query must have at least one aggregation.');
  if (aggs.length > MAX_AGGREGATIONS) throw invalid(`An aggregation query can have at most ${MAX_AGGREGATIONS} aggregations, got ${aggs.length}.`);

  const explicit = new Set(aggs.map((a) => a.alias ?? '').filter((a) => a !== ''));
  const used = new Set<string>();
  let auto = 0;
  const accs: Accumulator[] = [];
  for (const a of aggs) {
    let alias = a.alias ?? '';
    if (alias === '') {
      do alias = `property_${++auto}`;
      while (explicit.has(alias) || used.has(alias));
    } else if (used.has(alias)) throw invalid(`Duplicate aggregation alias ${alias}.`);
    else if (/^__.*__$/.test(alias)) throw invalid(`Aggregation alias ${alias} is reserved.`);
    used.add(alias);
    const op = (a as { operator?: string }).operator ?? (a.count ? 'count' : a.sum ? 'sum' : a.avg ? 'avg' : undefined);
    if (op === 'count') {
      const raw = a.count?.upTo as unknown;
      let upTo: number | null = null;
      if (raw !== null && raw !== undefined) {
        upTo = Number(typeof raw === 'object' ? (raw as { value?: unknown }).value ?? 0 : raw);
        if (!(upTo > 0)) throw invalid('COUNT up_to must be greater than zero.');
      }
      accs.push(countOf(alias, upTo));
    } else if (op === 'sum') accs.push(sumOf(alias, propertyName(a.sum?.property, 'A SUM'), false));
    else if (op === 'avg') accs.push(sumOf(alias, propertyName(a.avg?.property, 'An AVG'), true));
    else throw invalid('An aggregation must be COUNT, SUM or AVG.');
  }

  const plan = planQuery(nested, partition);
  options.checkPlan?.(plan, nested);
  const wholeKind =
    plan.source.type === 'entities' &&
    plan.filters.predicate === null &&
    plan.start === null &&
    plan.end === undefined &&
    plan.offset === 0 &&
    plan.limit === null &&
    plan.projection === null &&
    plan.distinct === 0 &&
    plan.valueOrders.length === 0;
  if (wholeKind && accs.every((a) => a.kind === 'count')) {
    // Counting a whole kind (how dumps size their splits) needs no scan.
    const n = snapshot.count(partition.namespaceId, (plan.source as { kind: string | undefined }).kind);
    for (const acc of accs) acc.addMany(n);
  } else {
    // Counts capped by up_to need read no further than the largest cap.
    const caps = accs.map((a) => a.cap);
    const max = caps.every((c) => c !== null) ? Math.max(...(caps as number[])) : Infinity;
    walk(snapshot, plan, options.stats ? { max, stats: options.stats } : { max }, (row) => {
      for (const acc of accs) acc.add(row);
    });
  }
  const aggregateProperties: Record<string, IValue> = {};
  for (const acc of accs) aggregateProperties[acc.alias] = acc.result();
  return {
    aggregationResults: [{ aggregateProperties }],
    moreResults: 'NO_MORE_RESULTS',
  } as IAggregationResultBatch;
}
