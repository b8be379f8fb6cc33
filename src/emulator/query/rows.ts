/**
 * Produces a plan's result rows in query order, each with its sort values
 * and (for projections) the projected values that make it distinct from the
 * other rows of the same entity.
 *
 * Queries in plain ascending key order stream: they seek the store to the
 * later of the start cursor and the `__key__` lower bound, and stop at the
 * upper bound or the end of the ancestor's subtree, so a page costs what it
 * returns. Other orders read the matching rows, sort them and binary-search
 * the start position (fine for an emulator).
 */
import type { IPathElement, IValue } from '../../model/proto.js';
import { compareKeyPaths } from '../../model/key-order.js';
import type { DatabaseSnapshot, ScanStart, StoredEntity } from '../snapshot.js';
import type { Position } from './cursor.js';
import { isAncestorPath } from './filters.js';
import { kindEntities, namespaceEntities, propertyEntities } from './metadata.js';
import type { Order, Plan } from './plan.js';
import { scatterValue, SCATTER_PROPERTY } from './scatter.js';
import { compareValues, indexedValues } from './values.js';

export interface Row {
  e: StoredEntity;
  sort: IValue[];
  extra: IValue[];
}

const NONE: IValue[] = [];

export function compareRowToPos(plan: Plan, row: Row, pos: Position): number {
  const orders = plan.orders;
  for (let i = 0, j = 0; i < orders.length; i++) {
    const o = orders[i]!;
    let c: number;
    if (i === plan.keyIndex) c = compareKeyPaths(row.e.key, { path: pos.path });
    else {
      c = compareValues(row.sort[j]!, pos.values[j]!);
      j++;
    }
    if (c !== 0) return o.desc ? -c : c;
  }
  for (let k = 0; k < row.extra.length; k++) {
    const c = compareValues(row.extra[k]!, pos.extra[k]!);
    if (c !== 0) return c;
  }
  return 0;
}

export function positionOf(row: Row): Position {
  return { values: row.sort, path: row.e.key.path as IPathElement[], extra: row.extra };
}

function compareRows(plan: Plan, a: Row, b: Row): number {
  return compareRowToPos(plan, a, positionOf(b));
}

function pick(values: readonly IValue[], desc: boolean): IValue {
  let best = values[0]!;
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i]!, best);
    if (desc ? c > 0 : c < 0) best = values[i]!;
  }
  return best;
}

/** Index values of `name` narrowed to those satisfying the top-level filters on it. */
function candidates(plan: Plan, e: StoredEntity, name: string): readonly IValue[] {
  const vals = indexedValues(e.properties, name);
  const tests = plan.filters.conjuncts.get(name);
  if (!tests || vals.length === 0) return vals;
  const kept = vals.filter((v) => tests.every((t) => t(v)));
  // Under an OR the conjunct list is empty; a non-empty filtered list is the index rows the scan meets.
  return kept.length > 0 ? kept : vals;
}

function sortValue(plan: Plan, e: StoredEntity, o: Order): IValue | undefined {
  if (o.name === SCATTER_PROPERTY) {
    const h = scatterValue(e.key.path as IPathElement[]);
    return h === undefined ? undefined : ({ valueType: 'integerValue', integerValue: String(h) } as IValue);
  }
  const vals = candidates(plan, e, o.name);
  return vals.length === 0 ? undefined : pick(vals, o.desc);
}

/** The rows an entity contributes (none, one, or one per projected value combination). */
export function rowsOf(plan: Plan, e: StoredEntity, out: Row[]): void {
  const vo = plan.valueOrders;
  if (plan.projection === null) {
    if (vo.length === 0) {
      out.push({ e, sort: NONE, extra: NONE });
      return;
    }
    const sort: IValue[] = new Array(vo.length);
    for (let j = 0; j < vo.length; j++) {
      const v = sortValue(plan, e, vo[j]!);
      if (v === undefined) return;
      sort[j] = v;
    }
    out.push({ e, sort, extra: NONE });
    return;
  }
  const proj = plan.projection;
  const lists: (readonly IValue[])[] = [];
  for (const name of proj) {
    const vals = candidates(plan, e, name);
    if (vals.length === 0) return;
    lists.push(vals);
  }
  const fixed: (IValue | undefined)[] = vo.map((o) => (proj.includes(o.name) ? undefined : sortValue(plan, e, o)));
  for (let j = 0; j < vo.length; j++) if (!proj.includes(vo[j]!.name) && fixed[j] === undefined) return;
  const mine: Row[] = [];
  const combo: IValue[] = new Array(proj.length);
  const walk = (i: number): void => {
    if (i === proj.length) {
      const extra = combo.slice();
      const sort = vo.map((o, j) => fixed[j] ?? extra[proj.indexOf(o.name)]!);
      mine.push({ e, sort, extra });
      return;
    }
    for (const v of lists[i]!) {
      combo[i] = v;
      walk(i + 1);
    }
  };
  walk(0);
  mine.sort((a, b) => compareRows(plan, a, b));
  // The index holds each distinct value once per entity.
  for (let i = 0; i < mine.length; i++) if (i === 0 || compareRows(plan, mine[i]!, mine[i - 1]!) !== 0) out.push(mine[i]!);
}

function* scanSorted(list: StoredEntity[], seek: ScanStart | undefined): Generator<StoredEntity> {
  let lo = 0;
  if (seek) {
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeyPaths(list[mid]!.key, seek.key);
      if (c < 0 || (c === 0 && !seek.inclusive)) lo = mid + 1;
      else hi = mid;
    }
  }
  for (let i = lo; i < list.length; i++) yield list[i]!;
}

function source(snapshot: DatabaseSnapshot, plan: Plan, seek: ScanStart | undefined): Iterable<StoredEntity> {
  const s = plan.source;
  switch (s.type) {
    case 'entities':
      return snapshot.scan(plan.partition.namespaceId, s.kind, seek);
    case 'namespaces':
      return scanSorted(namespaceEntities(snapshot, plan.partition), seek);
    case 'kinds':
      return scanSorted(kindEntities(snapshot, plan.partition), seek);
    case 'properties':
      return scanSorted(propertyEntities(snapshot, plan.partition, s.onlyKind), seek);
    case 'empty':
      return [];
  }
}

/** Entities in key order within the top-level key range and ancestor, passing the filters. */
function* matchingEntities(snapshot: DatabaseSnapshot, plan: Plan, seek: ScanStart | undefined): Generator<StoredEntity> {
  const { low, high, ancestor, predicate } = plan.filters;
  if (low) {
    const c = seek ? compareKeyPaths({ path: low.path }, seek.key) : 1;
    if (c > 0) seek = { key: { path: low.path }, inclusive: low.inclusive };
    else if (c === 0) seek = { key: seek!.key, inclusive: seek!.inclusive && low.inclusive };
  }
  const highRef = high ? { path: high.path } : undefined;
  const ancRef = ancestor ? { path: ancestor } : undefined;
  for (const e of source(snapshot, plan, seek)) {
    if (highRef) {
      const c = compareKeyPaths(e.key, highRef);
      if (c > 0 || (c === 0 && !high!.inclusive)) return;
    }
    if (ancRef && !isAncestorPath(e.key.path as IPathElement[], ancestor!)) {
      // Descendants of the ancestor are contiguous in key order: once past them, stop.
      if (compareKeyPaths(e.key, ancRef) > 0) return;
      continue;
    }
    if (predicate !== null && !predicate(e)) continue;
    yield e;
  }
}

/**
 * Rows strictly after the plan's start position, in query order. `need`
 * says how many rows the caller can consume at most; orders other than key
 * order then keep only the `need` first rows in a bounded heap instead of
 * sorting everything, so paging a property-ordered query costs O(n log k).
 */
export function* orderedRows(snapshot: DatabaseSnapshot, plan: Plan, need = Infinity): Generator<Row> {
  const start = plan.start;
  const buf: Row[] = [];
  if (plan.keyAscending) {
    // A projection cursor can stand between two rows of one entity: re-read that entity.
    const seek = start ? { key: { path: start.path }, inclusive: plan.projection !== null } : undefined;
    for (const e of matchingEntities(snapshot, plan, seek)) {
      buf.length = 0;
      rowsOf(plan, e, buf);
      for (const row of buf) {
        // Without projection the exclusive seek already placed us after the start.
        if (start && plan.projection !== null && compareRowToPos(plan, row, start) <= 0) continue;
        yield row;
      }
    }
    return;
  }
  const cmp = (a: Row, b: Row) => compareRows(plan, a, b);
  if (need !== Infinity) {
    const heap = new BoundedHeap(need, cmp);
    for (const e of matchingEntities(snapshot, plan, undefined)) {
      buf.length = 0;
      rowsOf(plan, e, buf);
      for (const row of buf) if (!start || compareRowToPos(plan, row, start) > 0) heap.offer(row);
    }
    yield* heap.sorted();
    return;
  }
  for (const e of matchingEntities(snapshot, plan, undefined)) rowsOf(plan, e, buf);
  buf.sort(cmp);
  let i = 0;
  if (start) {
    let hi = buf.length;
    while (i < hi) {
      const mid = (i + hi) >>> 1;
      if (compareRowToPos(plan, buf[mid]!, start) <= 0) i = mid + 1;
      else hi = mid;
    }
  }
  for (; i < buf.length; i++) yield buf[i]!;
}

/** The k smallest items seen, kept in a max-heap (largest on top, first to go). */
class BoundedHeap<T> {
  private readonly items: T[] = [];
  constructor(
    private readonly k: number,
    private readonly cmp: (a: T, b: T) => number,
  ) {}

  offer(x: T): void {
    const h = this.items;
    if (this.k <= 0) return;
    if (h.length < this.k) {
      h.push(x);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.cmp(h[i]!, h[p]!) <= 0) break;
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      }
      return;
    }
    if (this.cmp(x, h[0]!) >= 0) return;
    h[0] = x;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.cmp(h[l]!, h[m]!) > 0) m = l;
      if (r < h.length && this.cmp(h[r]!, h[m]!) > 0) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  sorted(): T[] {
    return this.items.sort(this.cmp);
  }
}
