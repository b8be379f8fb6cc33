/**
 * What is actually stored: per namespace and kind, the entity count and, per
 * property path, the value types found with counts, how many values are
 * indexed or not, and the largest value (by Google's storage-size formula).
 * Pure accumulation — the schema collector stage feeds it entities from a live
 * scan or a dump file.
 *
 * Paths: a top-level property is its name; a property of an embedded entity is
 * `parent.child`; the elements of an array are `name[]` (so an array of
 * embedded entities gives `name[].child`). Names containing `.` or `[` are
 * quoted as JSON strings so paths stay unambiguous.
 */
import type { IEntity, IValue } from '../model/proto.js';
import { entitySize, valueSize } from '../model/storage-size.js';
import { VALUE_TYPES, valueTypeOf, type ValueTypeName } from '../model/value-types.js';

export interface PropertyStats {
  /** Values seen per type (array elements are counted under `path[]`). */
  types: Partial<Record<ValueTypeName, number>>;
  /** Entities (of the kind) in which the path occurs at least once. */
  entities: number;
  /** Entities of the kind in which the path does not occur. */
  missing: number;
  indexed: number;
  unindexed: number;
  /** Largest value at this path, in bytes of Google's storage-size formula. */
  largestValueBytes: number;
}

export interface KindSchema {
  namespace: string;
  kind: string;
  entities: number;
  /** Largest whole entity, in bytes of the storage-size formula. */
  largestEntityBytes: number;
  properties: Record<string, PropertyStats>;
}

interface PathAcc {
  types: Map<ValueTypeName, number>;
  entities: number;
  indexed: number;
  unindexed: number;
  largest: number;
  /** Which entity last touched this path, so it counts each entity once. */
  lastSeen: number;
}

class KindAcc {
  entities = 0;
  largestEntity = 0;
  readonly paths = new Map<string, PathAcc>();
  constructor(readonly namespace: string, readonly kind: string) {}

  add(entity: IEntity): void {
    const seq = ++this.entities;
    this.largestEntity = Math.max(this.largestEntity, entitySize(entity));
    this.walk(entity.properties ?? {}, '', seq);
  }

  private walk(properties: Record<string, IValue>, prefix: string, seq: number): void {
    for (const [name, value] of Object.entries(properties)) this.visit(prefix + segment(name), value, seq);
  }

  private visit(path: string, value: IValue, seq: number): void {
    let acc = this.paths.get(path);
    if (acc === undefined) {
      acc = { types: new Map(), entities: 0, indexed: 0, unindexed: 0, largest: 0, lastSeen: 0 };
      this.paths.set(path, acc);
    }
    if (acc.lastSeen !== seq) {
      acc.lastSeen = seq;
      acc.entities++;
    }
    const type = valueTypeOf(value);
    acc.types.set(type, (acc.types.get(type) ?? 0) + 1);
    if (value.excludeFromIndexes === true) acc.unindexed++;
    else acc.indexed++;
    acc.largest = Math.max(acc.largest, valueSize(value));
    if (type === 'entity') this.walk(value.entityValue?.properties ?? {}, `${path}.`, seq);
    else if (type === 'array') for (const v of value.arrayValue?.values ?? []) this.visit(`${path}[]`, v, seq);
  }

  result(): KindSchema {
    const properties: Record<string, PropertyStats> = {};
    for (const path of [...this.paths.keys()].sort(comparePaths)) {
      const acc = this.paths.get(path)!;
      const types: Partial<Record<ValueTypeName, number>> = {};
      for (const t of VALUE_TYPES) if (acc.types.has(t)) types[t] = acc.types.get(t)!;
      properties[path] = {
        types,
        entities: acc.entities,
        missing: this.entities - acc.entities,
        indexed: acc.indexed,
        unindexed: acc.unindexed,
        largestValueBytes: acc.largest,
      };
    }
    return { namespace: this.namespace, kind: this.kind, entities: this.entities, largestEntityBytes: this.largestEntity, properties };
  }
}

function segment(name: string): string {
  return /^[^.[\]"]+$/.test(name) ? name : JSON.stringify(name);
}

function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Accumulates entities of any namespace and kind; `result()` may be called at any time. */
export class SchemaAccumulator {
  private readonly kinds = new Map<string, KindAcc>();

  /** Registers a kind with no entities yet (so empty kinds still appear). */
  touch(namespace: string, kind: string): void {
    this.acc(namespace, kind);
  }

  add(entity: IEntity, where?: { namespace: string; kind: string }): void {
    const key = entity.key;
    const namespace = where?.namespace ?? key?.partitionId?.namespaceId ?? '';
    const path = key?.path ?? [];
    const kind = where?.kind ?? path[path.length - 1]?.kind ?? '';
    this.acc(namespace, kind).add(entity);
  }

  private acc(namespace: string, kind: string): KindAcc {
    const id = `${namespace}\u0000${kind}`;
    let acc = this.kinds.get(id);
    if (acc === undefined) {
      acc = new KindAcc(namespace, kind);
      this.kinds.set(id, acc);
    }
    return acc;
  }

  /** Kinds ordered by namespace then kind. */
  result(): KindSchema[] {
    return [...this.kinds.values()]
      .sort((a, b) => comparePaths(a.namespace, b.namespace) || comparePaths(a.kind, b.kind))
      .map((k) => k.result());
  }
}

/** `birthday: timestamp 9,850 · string 150 · missing 12` */
export function describeTypes(stats: PropertyStats): string {
  const parts = Object.entries(stats.types).map(([t, n]) => `${t} ${formatCount(n!)}`);
  if (stats.missing > 0) parts.push(`missing ${formatCount(stats.missing)}`);
  return parts.join(' · ');
}

export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The readable report `dspipe schema` prints on a terminal. */
export function formatSchemaTable(kinds: readonly KindSchema[]): string {
  const lines: string[] = [];
  for (const k of kinds) {
    const ns = k.namespace === '' ? '(default)' : k.namespace;
    lines.push(`${ns} / ${k.kind} — ${formatCount(k.entities)} entit${k.entities === 1 ? 'y' : 'ies'}, largest ${formatCount(k.largestEntityBytes)} B`);
    const rows = Object.entries(k.properties).map(([path, s]) => [
      path,
      describeTypes(s),
      `${formatCount(s.indexed)} / ${formatCount(s.unindexed)}`,
      `${formatCount(s.largestValueBytes)} B`,
    ]);
    if (rows.length === 0) {
      lines.push('  (no properties)', '');
      continue;
    }
    const header = ['property', 'types', 'indexed / unindexed', 'largest'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
    lines.push(fmt(header), ...rows.map(fmt), '');
  }
  return lines.join('\n');
}
