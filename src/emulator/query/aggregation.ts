/**
 * RunAggregationQuery over the rows of the nested query (its filters,
 * cursors, offset and limit all apply): COUNT (optionally capped by up_to),
 * SUM and AVG (over the rows of the aggregated properties' index, see
 * aggregatedRows). As Datastore documents, SUM of integers stays an integer
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
import { planQuery, type Plan } from './plan.js';
import type { Row } from './rows.js';
import { walk, type RunOptions } from './run-query.js';
import { compareValues, doubleOf, indexedValues, valueTypeOf } from './values.js';
import { isReservedName, MAX_AGGREGATIONS } from '../../model/limits.js';

type IAggregationResultBatch = google.datastore.v1.IAggregationResultBatch;

const NO_VALUES: readonly IValue[] = [];
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

interface Accumulator {
  alias: string;
  kind: 'count' | 'sum' | 'avg';
  /** Counts only: add n rows at once. */
  addMany(n: number): void;
  /** For COUNT with up_to: rows beyond this cannot change the result. */
  cap: number | null;
  /** One row; for SUM and AVG its values of the aggregated properties (see aggregatedRows). */
  add(values: readonly IValue[]): void;
  result(): IValue;
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

/** `slot`: where the property's value sits in a row's values. */
function sumOf(alias: string, slot: number, average: boolean): Accumulator {
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
    add(values) {
      const v = values[slot]!;
      const t = valueTypeOf(v);
      if (t !== 'integerValue' && t !== 'doubleValue') return;
      n++;
      if (t === 'integerValue') intSum += BigInt(String(v.integerValue ?? '0'));
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

function propertyName(ref: { name?: string | null } | null | undefined): string {
  const name = ref?.name ?? '';
  if (name === '') throw invalid('Empty aggregation field.');
  if (name === '__key__') throw invalid('Aggregations are not supported for the property: __key__ (SUM and AVG take a numeric property)');
  return name;
}

/** An entity's distinct index entries of a property, in value order. */
function entriesOf(row: Row, name: string): IValue[] {
  const out: IValue[] = [];
  for (const v of indexedValues(row.e.properties, name)) if (!out.some((w) => compareValues(w, v) === 0)) out.push(v);
  return out.sort(compareValues);
}

/**
 * The rows a SUM or AVG reads. Google's aggregation reads the aggregated
 * properties' index, as if the query were ordered by them: an entity without
 * one of them is not a row, an entity with an array is one row per distinct
 * value (per combination, for several properties), and offset and limit cut
 * rows in that order — the lowest values (Datastore's value order: integers
 * before doubles), not the first keys. A COUNT beside a SUM counts those rows.
 * Seen on the Firestore emulator (legacy has no RunAggregationQuery), e.g.
 * sum(n) limit 2 over n = 50, 10, [1, 2] is 3; the documentation is silent.
 * A query with its own orders keeps them first (its rows in query order, then
 * by the aggregated values), which Google's emulator agrees with for an order
 * on __key__; ties within an explicit order are broken by key before value here.
 */
function aggregatedRows(snapshot: DatabaseSnapshot, plan: Plan, ordered: boolean, props: readonly string[], stats: RunOptions['stats']): IValue[][] {
  const rows: { at: number; values: IValue[] }[] = [];
  let at = 0;
  const all: Plan = { ...plan, offset: 0, limit: null };
  walk(snapshot, all, stats ? { max: Infinity, stats } : { max: Infinity }, (row) => {
    let combos: IValue[][] = [[]];
    for (const p of props) {
      const entries = entriesOf(row, p);
      if (entries.length === 0) return;
      combos = entries.length === 1 ? combos.map((c) => [...c, entries[0]!]) : combos.flatMap((c) => entries.map((e) => [...c, e]));
    }
    for (const values of combos) rows.push({ at, values });
    at++;
  });
  if (plan.offset === 0 && plan.limit === null) return rows.map((r) => r.values);
  rows.sort((a, b) => {
    if (ordered && a.at !== b.at) return a.at - b.at;
    for (let i = 0; i < props.length; i++) {
      const c = compareValues(a.values[i]!, b.values[i]!);
      if (c !== 0) return c;
    }
    return a.at - b.at;
  });
  return rows.slice(plan.offset, plan.limit === null ? undefined : plan.offset + plan.limit).map((r) => r.values);
}

export function executeAggregation(snapshot: DatabaseSnapshot, partition: Partition, aq: IAggregationQuery, options: RunOptions = {}): IAggregationResultBatch {
  const nested = aq.nestedQuery;
  if (!nested) throw invalid('An aggregation query must have a nested query.');
  const aggs = aq.aggregations ?? [];
  if (aggs.length === 0) throw invalid('Aggregations can not be empty.');
  // Documented: at most 5. The Firestore emulator fails with UNKNOWN and no message; production's words are not known.
  if (aggs.length > MAX_AGGREGATIONS) throw invalid(`An aggregation query can have at most ${MAX_AGGREGATIONS} aggregations, got ${aggs.length}.`);
  const nestedKind = nested.kind?.[0]?.name ?? '';
  if (isReservedName(nestedKind)) throw invalid(`Aggregation queries on reserved kinds are not supported. (kind ${nestedKind})`);

  const explicit = new Set(aggs.map((a) => a.alias ?? '').filter((a) => a !== ''));
  const used = new Set<string>();
  let auto = 0;
  const accs: Accumulator[] = [];
  /** The properties SUM and AVG read, in order of first use. */
  const props: string[] = [];
  for (const a of aggs) {
    let alias = a.alias ?? '';
    if (alias === '') {
      do alias = `property_${++auto}`;
      while (explicit.has(alias) || used.has(alias));
    } else if (used.has(alias)) throw invalid(`Aggregation aliases contain duplicate alias: ${alias}.`);
    else if (isReservedName(alias)) throw invalid(`The property.name "${alias}" is reserved. (an aggregation alias)`);
    used.add(alias);
    const op = (a as { operator?: string }).operator ?? (a.count ? 'count' : a.sum ? 'sum' : a.avg ? 'avg' : undefined);
    if (op === 'count') {
      const raw = a.count?.upTo as unknown;
      let upTo: number | null = null;
      if (raw !== null && raw !== undefined) {
        upTo = Number(typeof raw === 'object' ? (raw as { value?: unknown }).value ?? 0 : raw);
        // Documented: "If a zero value is provided, a count result of zero should always be expected."
        if (!(upTo >= 0)) throw invalid(`The \`up_to\` value in a COUNT aggregation must be greater than or equal to zero. (got ${upTo})`);
      }
      accs.push(countOf(alias, upTo));
    } else if (op === 'sum' || op === 'avg') {
      const name = propertyName((op === 'sum' ? a.sum : a.avg)?.property);
      if (!props.includes(name)) props.push(name);
      accs.push(sumOf(alias, props.indexOf(name), op === 'avg'));
    } else throw invalid('Empty aggregation field.');
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
  if (props.length > 0) {
    for (const values of aggregatedRows(snapshot, plan, (nested.order ?? []).length > 0, props, options.stats)) for (const acc of accs) acc.add(values);
  } else if (wholeKind) {
    // Counting a whole kind (how dumps size their splits) needs no scan.
    const n = snapshot.count(partition.namespaceId, (plan.source as { kind: string | undefined }).kind);
    for (const acc of accs) acc.addMany(n);
  } else {
    // Counts capped by up_to need read no further than the largest cap.
    const caps = accs.map((a) => a.cap);
    const max = caps.every((c) => c !== null) ? Math.max(...(caps as number[])) : Infinity;
    walk(snapshot, plan, options.stats ? { max, stats: options.stats } : { max }, () => {
      for (const acc of accs) acc.add(NO_VALUES);
    });
  }
  const aggregateProperties: Record<string, IValue> = {};
  for (const acc of accs) aggregateProperties[acc.alias] = acc.result();
  return {
    aggregationResults: [{ aggregateProperties }],
    moreResults: 'NO_MORE_RESULTS',
  } as IAggregationResultBatch;
}
