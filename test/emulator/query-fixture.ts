/**
 * A tiny in-memory DatabaseSnapshot for the query engine's unit tests: a
 * sorted array per namespace, nothing more. It is a fixture for the engine,
 * not a Datastore stand-in; the end-to-end tests use the real emulator.
 */
import type { IKey, IValue, IPathElement } from '../../src/model/proto.js';
import { compareKeyPaths, compareUtf8 } from '../../src/model/key-order.js';
import type { DatabaseSnapshot, ScanStart, StoredEntity } from '../../src/emulator/snapshot.js';

export const PARTITION = { projectId: 'p', databaseId: '', namespaceId: '' };

export type PathSpec = (string | number)[];

export function path(...spec: PathSpec): IPathElement[] {
  const out: IPathElement[] = [];
  for (let i = 0; i < spec.length; i += 2) {
    const id = spec[i + 1];
    out.push(typeof id === 'number' ? { kind: String(spec[i]), id: String(id), idType: 'id' } as IPathElement : { kind: String(spec[i]), name: id, idType: 'name' } as IPathElement);
  }
  return out;
}

export function key(spec: PathSpec, namespaceId = ''): IKey {
  return { partitionId: { projectId: 'p', databaseId: '', namespaceId }, path: path(...spec) };
}

export const v = {
  nul: (): IValue => ({ valueType: 'nullValue', nullValue: 'NULL_VALUE' }) as IValue,
  int: (n: number | string): IValue => ({ valueType: 'integerValue', integerValue: String(n) }) as IValue,
  dbl: (x: number): IValue => ({ valueType: 'doubleValue', doubleValue: x }) as IValue,
  str: (s: string): IValue => ({ valueType: 'stringValue', stringValue: s }) as IValue,
  bool: (b: boolean): IValue => ({ valueType: 'booleanValue', booleanValue: b }) as IValue,
  blob: (b: number[]): IValue => ({ valueType: 'blobValue', blobValue: Buffer.from(b) }) as IValue,
  ts: (seconds: number, nanos = 0): IValue => ({ valueType: 'timestampValue', timestampValue: { seconds: String(seconds), nanos } }) as IValue,
  geo: (latitude: number, longitude: number): IValue => ({ valueType: 'geoPointValue', geoPointValue: { latitude, longitude } }) as IValue,
  key: (spec: PathSpec, ns = ''): IValue => ({ valueType: 'keyValue', keyValue: key(spec, ns) }) as IValue,
  arr: (...values: IValue[]): IValue => ({ valueType: 'arrayValue', arrayValue: { values } }) as IValue,
  ent: (properties: Record<string, IValue>): IValue => ({ valueType: 'entityValue', entityValue: { properties } }) as IValue,
  noindex: (x: IValue): IValue => ({ ...x, excludeFromIndexes: true }) as IValue,
};

export function entity(spec: PathSpec, properties: Record<string, IValue> = {}, namespaceId = ''): StoredEntity {
  return { key: key(spec, namespaceId), properties, version: '7', createTime: { seconds: '1', nanos: 0 }, updateTime: { seconds: '2', nanos: 0 } };
}

export class MemSnapshot implements DatabaseSnapshot {
  readonly projectId = 'p';
  readonly databaseId = '';
  readonly readTime = { seconds: '100', nanos: 0 };
  private readonly byNs = new Map<string, StoredEntity[]>();

  constructor(entities: StoredEntity[]) {
    for (const e of entities) {
      const ns = e.key.partitionId?.namespaceId ?? '';
      let list = this.byNs.get(ns);
      if (!list) this.byNs.set(ns, (list = []));
      list.push(e);
    }
    for (const list of this.byNs.values()) list.sort((a, b) => compareKeyPaths(a.key, b.key));
  }

  without(...specs: PathSpec[]): MemSnapshot {
    const gone = specs.map((s) => path(...s));
    const all = [...this.byNs.values()].flat().filter((e) => !gone.some((g) => compareKeyPaths(e.key, { path: g }) === 0));
    return new MemSnapshot(all);
  }

  namespaces(): string[] {
    return [...this.byNs.keys()].sort(compareUtf8);
  }

  kinds(namespace: string): string[] {
    const set = new Set((this.byNs.get(namespace) ?? []).map((e) => e.key.path!.at(-1)!.kind!));
    return [...set].sort(compareUtf8);
  }

  *scan(namespace: string, kind: string | undefined, start?: ScanStart): Iterable<StoredEntity> {
    for (const e of this.byNs.get(namespace) ?? []) {
      if (kind !== undefined && e.key.path!.at(-1)!.kind !== kind) continue;
      if (start) {
        const c = compareKeyPaths(e.key, start.key);
        if (c < 0 || (c === 0 && !start.inclusive)) continue;
      }
      yield e;
    }
  }

  count(namespace: string, kind: string | undefined): number {
    return [...this.scan(namespace, kind)].length;
  }
}

// Query builders in the shape proto-loader decodes requests into.
export function pf(name: string, op: string, value: IValue) {
  return { filterType: 'propertyFilter', propertyFilter: { property: { name }, op, value } };
}
export function and(...filters: object[]) {
  return { filterType: 'compositeFilter', compositeFilter: { op: 'AND', filters } };
}
export function or(...filters: object[]) {
  return { filterType: 'compositeFilter', compositeFilter: { op: 'OR', filters } };
}
export function order(name: string, direction: 'ASCENDING' | 'DESCENDING' = 'ASCENDING') {
  return { property: { name }, direction };
}
export function query(kind: string | undefined, extra: Record<string, unknown> = {}) {
  return { kind: kind === undefined ? [] : [{ name: kind }], projection: [], order: [], distinctOn: [], offset: 0, limit: null, ...extra } as never;
}
