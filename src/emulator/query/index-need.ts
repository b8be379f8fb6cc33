/**
 * Which index a planned query needs, and whether the indexes that exist
 * serve it — Datastore's rules, from "Indexes" in its documentation
 * (https://cloud.google.com/datastore/docs/concepts/indexes):
 *
 *   Built-in single-property indexes serve
 *     - kindless queries using only ancestor and key filters
 *     - queries using only ancestor and equality filters
 *     - queries using only inequality filters (on a single property)
 *     - queries using only ancestor filters, equality filters on properties and inequality filters on keys
 *     - queries with no filters and only one sort order on a property, ascending or descending
 *   Composite indexes are required for
 *     - queries with ancestor and inequality filters
 *     - queries with one or more inequality filters on a property and one or more equality filters on other properties
 *     - queries with a sort order on keys in descending order
 *     - queries with multiple sort orders
 *     - queries with one or more filters and one or more sort orders
 *
 * The index a query needs (its "perfect index") lists the equality-filtered
 * properties, then the sort orders (inequality properties are ordered
 * implicitly), then projected properties not already named; it includes
 * ancestors when the query has an ancestor filter. Key filters need no index
 * of their own. Equality-only queries are served by merging (zigzag join)
 * several indexes that share the same sort postfix — built-in ones when there
 * is no sort — so a set of composite indexes whose prefixes together cover
 * the equality properties serves a query too. An OR query needs an index for
 * each of its disjunctions.
 */
import type { IFilter } from '../../model/proto.js';
import type { IndexDefinition, IndexProperty } from '../../format/index-yaml.js';
import type { Plan } from './plan.js';
import { KEY_PROPERTY } from './plan.js';

export interface IndexNeed {
  kind: string;
  ancestor: boolean;
  /** Equality-filtered properties (= and IN), in the order the filters name them. */
  equalities: string[];
  /** Sort orders the index must end with (inequality properties included), then projected ones. */
  postfix: IndexProperty[];
  /** Served by the built-in single-property indexes alone. */
  builtin: boolean;
  /** The composite index Datastore recommends for it. */
  recommended: IndexDefinition;
}

interface Branch {
  eq: string[];
}

/** The disjunctions of the filter tree, each with its equality properties (key filters need no index). */
function branches(filter: IFilter | null | undefined): Branch[] {
  if (!filter) return [{ eq: [] }];
  const which = (filter as { filterType?: string }).filterType ?? (filter.compositeFilter ? 'compositeFilter' : 'propertyFilter');
  if (which === 'compositeFilter') {
    const cf = filter.compositeFilter!;
    const children = (cf.filters ?? []).map(branches);
    const op = cf.op === 'OR' || (cf.op as unknown) === 2 ? 'OR' : 'AND';
    if (op === 'OR') return children.flat();
    let acc: Branch[] = [{ eq: [] }];
    for (const child of children) acc = acc.flatMap((a) => child.map((c) => ({ eq: [...a.eq, ...c.eq.filter((n) => !a.eq.includes(n))] })));
    return acc;
  }
  const pf = filter.propertyFilter!;
  const name = pf.property?.name ?? '';
  const op = String(pf.op);
  if (name === KEY_PROPERTY || !(op === 'EQUAL' || op === 'IN' || op === '5' || op === '6')) return [{ eq: [] }];
  return [{ eq: [name] }];
}

/**
 * What each disjunction of a planned query needs. Kindless and metadata
 * queries need nothing (they read the built-in key indexes).
 */
export function indexNeeds(plan: Plan, filter: IFilter | null | undefined): IndexNeed[] {
  if (plan.source.type !== 'entities' || plan.source.kind === undefined) return [];
  const kind = plan.source.kind;
  const ancestor = plan.filters.ancestor !== undefined || plan.filters.ancestors.length > 0;
  const keyDesc = plan.orders[plan.keyIndex]!.desc;
  const seen = new Set<string>();
  const out: IndexNeed[] = [];
  for (const b of branches(filter)) {
    const equalities = b.eq;
    const postfix: IndexProperty[] = plan.valueOrders
      .filter((o) => !equalities.includes(o.name))
      .map((o) => ({ name: o.name, direction: o.desc ? 'desc' : 'asc' }));
    if (keyDesc) postfix.push({ name: KEY_PROPERTY, direction: 'desc' });
    for (const p of plan.projection ?? []) {
      if (!equalities.includes(p) && !postfix.some((q) => q.name === p)) postfix.push({ name: p, direction: 'asc' });
    }
    const builtin = isBuiltin(ancestor, equalities, postfix);
    const recommended: IndexDefinition = {
      kind,
      ancestor,
      properties: [...equalities.map((name) => ({ name, direction: 'asc' as const })), ...postfix],
    };
    const id = JSON.stringify(recommended);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ kind, ancestor, equalities, postfix, builtin, recommended });
  }
  return out;
}

function isBuiltin(ancestor: boolean, equalities: string[], postfix: IndexProperty[]): boolean {
  // Only ancestor, equality and key filters, no sort: built-in indexes, merged.
  if (postfix.length === 0) return true;
  // One property, no equality and no ancestor: its built-in ascending or descending index.
  return !ancestor && equalities.length === 0 && postfix.length === 1 && postfix[0]!.name !== KEY_PROPERTY;
}

/**
 * The ready composite indexes that serve `need` (one, or several merged),
 * [] when built-in indexes do, and null when none does.
 */
export function servingIndexes(need: IndexNeed, ready: readonly IndexDefinition[]): IndexDefinition[] | null {
  if (need.builtin) return [];
  const n = need.postfix.length;
  const eq = new Set(need.equalities);
  const usable: { index: IndexDefinition; prefix: string[] }[] = [];
  for (const index of ready) {
    if (index.kind !== need.kind || index.ancestor !== need.ancestor || index.properties.length < n) continue;
    const cut = index.properties.length - n;
    const tail = index.properties.slice(cut);
    if (!tail.every((p, i) => p.name === need.postfix[i]!.name && p.direction === need.postfix[i]!.direction)) continue;
    const prefix = index.properties.slice(0, cut).map((p) => p.name);
    if (!prefix.every((name) => eq.has(name))) continue;
    if (prefix.length === eq.size) return [index];
    usable.push({ index, prefix });
  }
  // Zigzag merge: indexes with the same postfix whose prefixes together cover every equality property.
  const chosen: IndexDefinition[] = [];
  const covered = new Set<string>();
  for (const u of usable.sort((a, b) => b.prefix.length - a.prefix.length)) {
    if (u.prefix.length === 0 || u.prefix.every((p) => covered.has(p))) continue;
    chosen.push(u.index);
    for (const p of u.prefix) covered.add(p);
  }
  return chosen.length > 0 && covered.size === eq.size ? chosen : null;
}

/** Datastore's FAILED_PRECONDITION text for a query no index serves. */
export const NO_MATCHING_INDEX = 'no matching index found.';
