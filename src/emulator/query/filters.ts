/**
 * Compiles a query's filter tree into one predicate over stored entities, and
 * collects what the planner needs from it: the inequality properties (they
 * order results implicitly), the key range and ancestor of the top-level
 * conjunction (so key-ordered scans can seek and stop early) and the
 * top-level conditions per property (they pick which element of an array
 * sorts the entity).
 *
 * Matching follows the index: a property filter holds when ANY indexed value
 * of the property satisfies it; missing and unindexed properties never match.
 */
import type { IFilter, IKey, IPathElement, IPropertyFilter, IValue } from '../../model/proto.js';
import { compareKeyPaths } from '../../model/key-order.js';
import type { StoredEntity } from '../snapshot.js';
import { invalid } from './errors.js';
import { compareValues, indexedValues, valueTypeOf } from './values.js';
import { MAX_IN_VALUES, MAX_NOT_IN_VALUES } from '../../model/limits.js';

export type Predicate = (e: StoredEntity) => boolean;
export type ValueTest = (v: IValue) => boolean;

export interface Partition {
  projectId: string;
  databaseId: string;
  namespaceId: string;
}

export interface KeyBound {
  path: IPathElement[];
  inclusive: boolean;
}

export interface FilterInfo {
  predicate: Predicate | null;
  /** Properties under <, <=, >, >=, != or NOT_IN, in first-seen order. */
  inequalities: string[];
  /** All property names the filters reference (not `__key__`). */
  properties: Set<string>;
  /** Properties under = or IN anywhere (they cannot be projected). */
  equalities: Set<string>;
  low?: KeyBound;
  high?: KeyBound;
  ancestor?: IPathElement[];
  /** Top-level AND value tests per property, for choosing array sort values. */
  conjuncts: Map<string, ValueTest[]>;
  usesIn: boolean;
  usesOr: boolean;
  /** Every HAS_ANCESTOR key, and whether one sits under an OR. */
  ancestors: IPathElement[][];
  ancestorUnderOr: boolean;
  notCount: number;
  hasNotIn: boolean;
}

/** IN is bounded by the disjunction limit (30); NOT_IN by its own 10 (PropertyFilter.Operator docs). */
const MAX_VALUES: Record<string, number> = { IN: MAX_IN_VALUES, NOT_IN: MAX_NOT_IN_VALUES };

const INEQUALITY = new Set(['LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'NOT_EQUAL', 'NOT_IN']);

function opName(op: unknown): string {
  return typeof op === 'number' ? (OP_BY_NUMBER[op] ?? 'OPERATOR_UNSPECIFIED') : String(op ?? 'OPERATOR_UNSPECIFIED');
}

const OP_BY_NUMBER: Record<number, string> = {
  1: 'LESS_THAN',
  2: 'LESS_THAN_OR_EQUAL',
  3: 'GREATER_THAN',
  4: 'GREATER_THAN_OR_EQUAL',
  5: 'EQUAL',
  6: 'IN',
  9: 'NOT_EQUAL',
  11: 'HAS_ANCESTOR',
  13: 'NOT_IN',
};

function compositeOp(op: unknown): string {
  if (typeof op === 'number') return op === 1 ? 'AND' : op === 2 ? 'OR' : 'OPERATOR_UNSPECIFIED';
  return String(op ?? 'OPERATOR_UNSPECIFIED');
}

/** Checks a key in a filter names the query's partition and returns its path. */
export function keyPathInPartition(key: IKey | null | undefined, partition: Partition, what: string): IPathElement[] {
  const p = key?.partitionId ?? {};
  if (
    (p.projectId && p.projectId !== partition.projectId) ||
    (p.databaseId && p.databaseId !== partition.databaseId) ||
    (p.namespaceId ?? '') !== partition.namespaceId
  ) {
    throw invalid(`${what} key must be in the same partition as the query (project, database and namespace).`);
  }
  const path = key?.path ?? [];
  if (path.length === 0) throw invalid(`${what} key must have a non-empty path.`);
  for (const e of path) {
    if (!e.kind) throw invalid(`${what} key path element must have a kind.`);
    // Both Google emulators' wording (the documentation is silent): a filter key names one entity or ancestor.
    if (e.id == null && e.name == null) throw invalid(`Key path element must not be incomplete: [${e.kind}: ] (in the ${what} key)`);
  }
  return path as IPathElement[];
}

function hasPrefix(path: readonly IPathElement[], prefix: readonly IPathElement[]): boolean {
  if (path.length < prefix.length) return false;
  return compareKeyPaths({ path: path.slice(0, prefix.length) }, { path: prefix as IPathElement[] }) === 0;
}

export function isAncestorPath(path: readonly IPathElement[], ancestor: readonly IPathElement[]): boolean {
  return hasPrefix(path, ancestor);
}

function valueTest(op: string, ref: IValue): ValueTest {
  switch (op) {
    case 'EQUAL':
      return (v) => compareValues(v, ref) === 0;
    case 'NOT_EQUAL':
      return (v) => compareValues(v, ref) !== 0;
    case 'LESS_THAN':
      return (v) => compareValues(v, ref) < 0;
    case 'LESS_THAN_OR_EQUAL':
      return (v) => compareValues(v, ref) <= 0;
    case 'GREATER_THAN':
      return (v) => compareValues(v, ref) > 0;
    case 'GREATER_THAN_OR_EQUAL':
      return (v) => compareValues(v, ref) >= 0;
    default:
      throw invalid(`Unsupported property filter operator ${op}.`);
  }
}

function listValues(op: string, value: IValue | null | undefined): IValue[] {
  if (!value || valueTypeOf(value) !== 'arrayValue') throw invalid(`A filter with operator ${op} must have an array value.`);
  const values = value.arrayValue?.values ?? [];
  if (values.length === 0) throw invalid(`A filter with operator ${op} must have a non-empty array value.`);
  const max = MAX_VALUES[op] ?? MAX_IN_VALUES;
  // The Firestore emulator's words (legacy's "Filter has 31 properties, expected 1" says less).
  if (values.length > max) throw invalid(`${op.replace('_', ' ')} supports up to ${max} values. There are ${values.length} values in the ${op.replace('_', ' ')} filter in your query.`);
  return values;
}

/**
 * Stored key values carry their full partition (the store fills project and
 * database from the request); give filter keys the same so they can match.
 */
function normalizeValue(v: IValue, partition: Partition): IValue {
  if (valueTypeOf(v) !== 'keyValue' || !v.keyValue) return v;
  const p = v.keyValue.partitionId ?? {};
  if (p.projectId) return v;
  const keyValue = {
    ...v.keyValue,
    partitionId: { projectId: partition.projectId, databaseId: partition.databaseId, namespaceId: p.namespaceId ?? '' },
  };
  return { ...v, keyValue } as IValue;
}

function checkComparable(op: string, value: IValue | null | undefined): IValue {
  if (!value) throw invalid(`A property filter with operator ${op} must have a value.`);
  const t = valueTypeOf(value);
  if (t === undefined) throw invalid(`A property filter with operator ${op} must have a value.`);
  if (t === 'arrayValue') throw invalid(`A filter with operator ${op} cannot have an array value; use IN.`);
  // Embedded entities are not indexed as a whole: both Google emulators refuse them, in these words.
  if (t === 'entityValue') throw invalid(`An entity value is not allowed (as the value of a filter with operator ${op}).`);
  return value;
}

export function compileFilters(filter: IFilter | null | undefined, partition: Partition): FilterInfo {
  const info: FilterInfo = {
    predicate: null,
    inequalities: [],
    properties: new Set(),
    equalities: new Set(),
    conjuncts: new Map(),
    usesIn: false,
    usesOr: false,
    ancestors: [],
    ancestorUnderOr: false,
    notCount: 0,
    hasNotIn: false,
  };
  if (filter) info.predicate = compile(filter, partition, info, true);
  if (info.notCount > 1) throw invalid('A query can have at most one NOT_EQUAL or NOT_IN filter.');
  if (info.hasNotIn && (info.usesIn || info.usesOr)) throw invalid('A NOT_IN filter cannot be combined with IN filters or OR filters.');
  if (info.ancestorUnderOr && info.ancestors.some((a) => compareKeyPaths({ path: a }, { path: info.ancestors[0]! }) !== 0)) {
    throw invalid('All disjunctions must have a common and unique ancestor constraint. (the branches of the OR name different ancestors)');
  }
  return info;
}

function compile(f: IFilter, partition: Partition, info: FilterInfo, topLevel: boolean): Predicate | null {
  const which = (f as { filterType?: string }).filterType ?? (f.compositeFilter ? 'compositeFilter' : f.propertyFilter ? 'propertyFilter' : undefined);
  if (which === 'compositeFilter') {
    const cf = f.compositeFilter!;
    const op = compositeOp(cf.op);
    const children = cf.filters ?? [];
    if (children.length === 0) throw invalid('A composite filter must have at least one sub-filter.');
    if (op === 'AND') {
      const preds = compileAnd(children, partition, info, topLevel);
      if (preds.length === 0) return null;
      if (preds.length === 1) return preds[0]!;
      return (e) => {
        for (const p of preds) if (!p(e)) return false;
        return true;
      };
    }
    if (op === 'OR') {
      info.usesOr = true;
      const withAncestor: boolean[] = [];
      const preds = children.map((c) => {
        const before = info.ancestors.length;
        const p = compile(c, partition, info, false);
        withAncestor.push(info.ancestors.length > before);
        return p;
      });
      // An ancestor in some branches only would make the OR span several entity groups: Google's emulators refuse it.
      if (withAncestor.some(Boolean) && !withAncestor.every(Boolean)) {
        throw invalid('All disjunctions must have a common and unique ancestor constraint. (an ancestor filter is in some branches of the OR only)');
      }
      if (preds.some((p) => p === null)) return null;
      return (e) => {
        for (const p of preds as Predicate[]) if (p(e)) return true;
        return false;
      };
    }
    throw invalid(`Unsupported composite filter operator ${op}.`);
  }
  if (which === 'propertyFilter') return compileProperty(f.propertyFilter!, partition, info, topLevel);
  throw invalid('A filter must be a composite filter or a property filter.');
}

const RANGE = new Set(['LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL']);

/**
 * The children of an AND. Range filters on one property are met by a single
 * value of it: `nums > 2 AND nums < 4` matches [3], not [1, 5] (Datastore's
 * documented array semantics; both Google emulators agree). Equalities on an
 * array property still match any value each.
 */
function compileAnd(children: readonly IFilter[], partition: Partition, info: FilterInfo, topLevel: boolean): Predicate[] {
  const preds: Predicate[] = [];
  const ranges = new Map<string, ValueTest[]>();
  for (const c of children) {
    const pf = c.propertyFilter;
    const name = pf?.property?.name ?? '';
    if (pf && ((c as { filterType?: string }).filterType ?? 'propertyFilter') === 'propertyFilter' && name !== '' && name !== '__key__' && RANGE.has(opName(pf.op))) {
      const tests = ranges.get(name) ?? [];
      tests.push(propertyTest(pf, partition, info, topLevel));
      ranges.set(name, tests);
      continue;
    }
    const p = compile(c, partition, info, topLevel);
    if (p !== null) preds.push(p);
  }
  for (const [name, tests] of ranges) {
    const test: ValueTest = tests.length === 1 ? tests[0]! : (v) => tests.every((t) => t(v));
    preds.push((e) => {
      const vals = indexedValues(e.properties, name);
      for (let i = 0; i < vals.length; i++) if (test(vals[i]!)) return true;
      return false;
    });
  }
  return preds;
}

function compileProperty(pf: IPropertyFilter, partition: Partition, info: FilterInfo, topLevel: boolean): Predicate {
  const name = pf.property?.name ?? '';
  if (name === '__key__') return compileKeyFilter(noteOperator(name, opName(pf.op), info), pf.value, partition, info, topLevel);
  const test = propertyTest(pf, partition, info, topLevel);
  return (e) => {
    const vals = indexedValues(e.properties, name);
    for (let i = 0; i < vals.length; i++) if (test(vals[i]!)) return true;
    return false;
  };
}

/** Records what a filter's operator tells the planner and the checks on the whole query; returns the operator. */
function noteOperator(name: string, op: string, info: FilterInfo): string {
  if (INEQUALITY.has(op) && !info.inequalities.includes(name)) info.inequalities.push(name);
  if (op === 'NOT_EQUAL' || op === 'NOT_IN') info.notCount++;
  if (op === 'NOT_IN') info.hasNotIn = true;
  if (op === 'IN') info.usesIn = true;
  return op;
}

/** Checks a filter on a (non-key) property, records what it tells the planner, and returns its value test. */
function propertyTest(pf: IPropertyFilter, partition: Partition, info: FilterInfo, topLevel: boolean): ValueTest {
  const name = pf.property?.name ?? '';
  const op = opName(pf.op);
  if (name === '') throw invalid('A property filter must name a property.');
  if (op === 'OPERATOR_UNSPECIFIED') throw invalid(`A property filter on ${name} must have an operator.`);
  noteOperator(name, op, info);
  if (op === 'HAS_ANCESTOR') throw invalid('HAS_ANCESTOR filters must be on __key__.');
  info.properties.add(name);
  if (op === 'EQUAL' || op === 'IN') info.equalities.add(name);

  let test: ValueTest;
  if (op === 'IN' || op === 'NOT_IN') {
    const refs = listValues(op, pf.value).map((r) => normalizeValue(checkComparable(op, r), partition));
    test =
      op === 'IN'
        ? (v) => refs.some((r) => compareValues(v, r) === 0)
        : (v) => !refs.some((r) => compareValues(v, r) === 0);
  } else {
    test = valueTest(op, normalizeValue(checkComparable(op, pf.value), partition));
  }
  if (topLevel) {
    const list = info.conjuncts.get(name);
    if (list) list.push(test);
    else info.conjuncts.set(name, [test]);
  }
  return test;
}

function compileKeyFilter(op: string, value: IValue | null | undefined, partition: Partition, info: FilterInfo, topLevel: boolean): Predicate {
  const keyOf = (v: IValue | null | undefined): IPathElement[] => {
    if (!v || valueTypeOf(v) !== 'keyValue') throw invalid(`A __key__ filter value must be a Key, got ${v ? String(valueTypeOf(v)) : 'nothing'}.`);
    return keyPathInPartition(v.keyValue, partition, '__key__ filter');
  };
  if (op === 'HAS_ANCESTOR') {
    const anc = keyOf(value);
    info.ancestors.push(anc);
    if (!topLevel) info.ancestorUnderOr = true;
    if (topLevel) {
      if (info.ancestor && compareKeyPaths({ path: info.ancestor }, { path: anc }) !== 0) {
        // Two ancestors: the deeper must descend from the other, else nothing matches.
        if (hasPrefix(anc, info.ancestor)) info.ancestor = anc;
      } else info.ancestor = anc;
      raiseLow(info, { path: anc, inclusive: true });
    }
    return (e) => hasPrefix(e.key.path as IPathElement[], anc);
  }
  if (op === 'IN' || op === 'NOT_IN') {
    const paths = listValues(op, value).map(keyOf);
    if (op === 'IN' && topLevel) {
      // Bound the scan by the smallest and largest key asked for.
      const sorted = [...paths].sort((a, b) => compareKeyPaths({ path: a }, { path: b }));
      raiseLow(info, { path: sorted[0]!, inclusive: true });
      lowerHigh(info, { path: sorted[sorted.length - 1]!, inclusive: true });
    }
    const has = (p: IPathElement[]) => paths.some((q) => compareKeyPaths({ path: p }, { path: q }) === 0);
    return op === 'IN' ? (e) => has(e.key.path as IPathElement[]) : (e) => !has(e.key.path as IPathElement[]);
  }
  const path = keyOf(value);
  const ref = { path };
  if (topLevel) {
    if (op === 'GREATER_THAN' || op === 'GREATER_THAN_OR_EQUAL' || op === 'EQUAL') raiseLow(info, { path, inclusive: op !== 'GREATER_THAN' });
    if (op === 'LESS_THAN' || op === 'LESS_THAN_OR_EQUAL' || op === 'EQUAL') lowerHigh(info, { path, inclusive: op !== 'LESS_THAN' });
  }
  const cmp = (e: StoredEntity) => compareKeyPaths(e.key, ref);
  switch (op) {
    case 'EQUAL':
      return (e) => cmp(e) === 0;
    case 'NOT_EQUAL':
      return (e) => cmp(e) !== 0;
    case 'LESS_THAN':
      return (e) => cmp(e) < 0;
    case 'LESS_THAN_OR_EQUAL':
      return (e) => cmp(e) <= 0;
    case 'GREATER_THAN':
      return (e) => cmp(e) > 0;
    case 'GREATER_THAN_OR_EQUAL':
      return (e) => cmp(e) >= 0;
    default:
      throw invalid(`Unsupported __key__ filter operator ${op}.`);
  }
}

function raiseLow(info: FilterInfo, b: KeyBound): void {
  const cur = info.low;
  if (!cur) {
    info.low = b;
    return;
  }
  const c = compareKeyPaths({ path: b.path }, { path: cur.path });
  if (c > 0 || (c === 0 && !b.inclusive)) info.low = b;
}

function lowerHigh(info: FilterInfo, b: KeyBound): void {
  const cur = info.high;
  if (!cur) {
    info.high = b;
    return;
  }
  const c = compareKeyPaths({ path: b.path }, { path: cur.path });
  if (c < 0 || (c === 0 && !b.inclusive)) info.high = b;
}
