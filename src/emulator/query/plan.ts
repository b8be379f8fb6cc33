/**
 * Turns a decoded RunQuery `Query` into a checked plan: which entities to
 * read (a kind, every kind, or a metadata list), the predicate, the
 * effective order (explicit orders, then inequality properties Datastore
 * orders by implicitly, then `__key__`), projection, distinct, offset, limit
 * and the start/end positions decoded from cursors. Restrictions Datastore
 * enforces are refused here with INVALID_ARGUMENT.
 */
import { compareUtf8 } from '../../model/key-order.js';
import type { IQuery } from '../../model/proto.js';
import { compileFilters, type FilterInfo, type Partition } from './filters.js';
import { decodeCursor, hashString, type Position } from './cursor.js';
import { invalid } from './errors.js';
import { KIND_KIND, NAMESPACE_KIND, PROPERTY_KIND } from './metadata.js';
import { isReservedName } from '../../model/limits.js';
import { SCATTER_PROPERTY } from './scatter.js';

export const KEY_PROPERTY = '__key__';

export interface Order {
  name: string;
  desc: boolean;
}

export type Source =
  | { type: 'entities'; kind: string | undefined }
  | { type: 'namespaces' }
  | { type: 'kinds' }
  | { type: 'properties'; onlyKind?: string }
  | { type: 'empty' };

export interface Plan {
  partition: Partition;
  source: Source;
  filters: FilterInfo;
  /** Effective order, always ending with `__key__`. */
  orders: Order[];
  /** The non-`__key__` orders, whose values a row carries in `sort`. */
  valueOrders: Order[];
  /** Index of `__key__` in `orders`. */
  keyIndex: number;
  /** Projected property names (not `__key__`); null for full entities. */
  projection: string[] | null;
  keysOnly: boolean;
  /** Number of leading value orders that are the distinct_on properties (0: none). */
  distinct: number;
  offset: number;
  limit: number | null;
  start: Position | null;
  end: Position | null | undefined;
  shape: number;
  /** Results come in plain ascending key order: scan and stop early. */
  keyAscending: boolean;
  scatter: boolean;
}

function direction(d: unknown): boolean {
  if (d === 'DESCENDING' || d === 2) return true;
  return false;
}

function int32(v: unknown): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v);
}

export function planQuery(query: IQuery, partition: Partition): Plan {
  const kinds = (query.kind ?? []).map((k) => k.name ?? '');
  if (kinds.length > 1) throw invalid('multiple kinds not supported (a query can name at most one kind)');
  const kind = kinds[0];
  if (kind === '') throw invalid('A query kind must have a name.');
  if ((query as { findNearest?: unknown }).findNearest) throw invalid('find_nearest (vector search) is not supported by this emulator.');

  const filters = compileFilters(query.filter, partition);

  let source: Source;
  if (kind === undefined) source = { type: 'entities', kind: undefined };
  else if (kind === NAMESPACE_KIND) source = { type: 'namespaces' };
  else if (kind === KIND_KIND) source = { type: 'kinds' };
  else if (kind === PROPERTY_KIND) {
    const anc = filters.ancestor;
    if (anc && anc.length === 1 && anc[0]!.kind === KIND_KIND && anc[0]!.name) source = { type: 'properties', onlyKind: anc[0]!.name };
    else source = { type: 'properties' };
  } else if (isReservedName(kind)) source = { type: 'empty' };
  else source = { type: 'entities', kind };

  const restricted = kind === undefined || source.type !== 'entities';
  if (restricted && filters.properties.size > 0) {
    throw invalid(
      kind === undefined
        ? 'Kindless queries can only filter on __key__.'
        : `Queries on ${kind} can only filter on __key__.`,
    );
  }

  // Projection.
  let projection: string[] | null = null;
  let keysOnly = false;
  const projNames = (query.projection ?? []).map((p) => p.property?.name ?? '');
  if (projNames.length > 0) {
    const seen = new Set<string>();
    for (const n of projNames) {
      if (n === '') throw invalid('A projection must name a property.');
      if (seen.has(n)) throw invalid(`Property ${n} is projected more than once.`);
      seen.add(n);
    }
    const props = projNames.filter((n) => n !== KEY_PROPERTY);
    if (props.length === 0) keysOnly = true;
    else {
      if (restricted) throw invalid(`Queries on ${kind ?? 'no kind'} can only project __key__.`);
      for (const n of props) {
        if (n === SCATTER_PROPERTY) throw invalid('__scatter__ cannot be projected.');
        if (filters.equalities.has(n)) throw invalid(`Property ${n} cannot be projected because it has an equality filter.`);
      }
      projection = props;
    }
  }

  // Distinct.
  const distinctNames = (query.distinctOn ?? []).map((p) => p.name ?? '');
  for (const n of distinctNames) {
    if (n === '') throw invalid('distinct_on must name a property.');
    if (n === KEY_PROPERTY || n === SCATTER_PROPERTY) throw invalid(`distinct_on cannot name ${n}.`);
  }

  // Orders.
  let explicit: Order[] = [];
  for (const o of query.order ?? []) {
    const name = o.property?.name ?? '';
    if (name === '') throw invalid('A sort order must name a property.');
    if (explicit.some((e) => e.name === name)) continue;
    explicit.push({ name, desc: direction(o.direction) });
  }
  const scatter = explicit.some((o) => o.name === SCATTER_PROPERTY);
  if (scatter) {
    if (explicit.length !== 1 || explicit[0]!.desc) throw invalid('__scatter__ can only be used as the only sort order, ascending.');
    if (source.type !== 'entities' || kind === undefined) throw invalid('__scatter__ requires a kind query.');
  }
  if (restricted && explicit.some((o) => o.name !== KEY_PROPERTY || o.desc)) {
    throw invalid(kind === undefined ? 'Kindless queries can only be ordered by __key__ ascending.' : `Queries on ${kind} can only be ordered by __key__ ascending.`);
  }
  if (distinctNames.length > 0) {
    // Query.distinct_on: with explicit orders, the distinct properties must lead them.
    if (explicit.length > 0) {
      const lead = explicit.slice(0, distinctNames.length).map((o) => o.name);
      if (lead.length < distinctNames.length || lead.some((n) => !distinctNames.includes(n))) {
        throw invalid('The distinct_on properties must appear before any other property in the sort order.');
      }
    } else explicit = distinctNames.map((name) => ({ name, desc: false }));
  }
  // Without an order, a projection reads its index: rows come by the projected values, the properties
  // taken by name, ascending (both Google emulators; the documentation is silent).
  if (explicit.length === 0 && projection !== null && filters.inequalities.length === 0) explicit = [...projection].sort(compareUtf8).map((name) => ({ name, desc: false }));
  // Inequality properties order the results implicitly, after the explicit orders.
  const inequalityProps = filters.inequalities.filter((n) => n !== KEY_PROPERTY).sort();
  for (const n of inequalityProps) if (!explicit.some((o) => o.name === n)) explicit.push({ name: n, desc: false });
  const keyAt = explicit.findIndex((o) => o.name === KEY_PROPERTY);
  const orders = keyAt >= 0 ? explicit.slice(0, keyAt + 1) : [...explicit, { name: KEY_PROPERTY, desc: false }];
  const keyIndex = orders.length - 1;
  const valueOrders = orders.slice(0, keyIndex);
  const keyAscending = valueOrders.length === 0 && !orders[keyIndex]!.desc;

  const offset = int32(query.offset);
  if (offset < 0) throw invalid(`Offset must be non-negative. (got ${offset})`);
  let limit: number | null = null;
  const rawLimit = query.limit as unknown;
  if (rawLimit !== null && rawLimit !== undefined) {
    limit = typeof rawLimit === 'object' ? int32((rawLimit as { value?: unknown }).value) : int32(rawLimit);
    if (limit < 0) throw invalid(`Limit must be non-negative. (got ${limit})`);
  }

  const shapeText = [
    kind === undefined ? '' : `k:${kind}`,
    orders.map((o) => `${o.desc ? '-' : '+'}${o.name}`).join(','),
    projection ? `p:${projection.join(',')}` : '',
  ].join('|');
  const shape = hashString(shapeText);
  const start = nonEmpty(query.startCursor) ? decodeCursor(shape, query.startCursor!) : null;
  const end = nonEmpty(query.endCursor) ? decodeCursor(shape, query.endCursor!) : undefined;
  for (const pos of [start, end]) {
    if (pos && (pos.values.length !== valueOrders.length || pos.extra.length !== (projection?.length ?? 0))) {
      throw invalid('Cursor does not match query.');
    }
  }

  const distinct = distinctNames.length;
  return {
    partition,
    source,
    filters,
    orders,
    valueOrders,
    keyIndex,
    projection,
    keysOnly,
    distinct,
    offset,
    limit,
    start,
    end,
    shape,
    keyAscending,
    scatter,
  };
}

function nonEmpty(b: unknown): boolean {
  if (b === null || b === undefined) return false;
  if (typeof b === 'string') return b.length > 0;
  return (b as Uint8Array).length > 0;
}
