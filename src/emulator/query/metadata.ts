/**
 * Datastore's metadata kinds, derived from the snapshot on demand:
 * `__namespace__` (one entity per namespace holding data; the default
 * namespace is keyed by id 1 because '' is not a valid name), `__kind__`
 * (one per kind of the request's namespace) and `__property__` (key
 * [__kind__ K, __property__ P] for every indexed property, with a
 * `property_representation` array naming the index representations seen:
 * INT64 for integers and timestamps, DOUBLE, BOOLEAN, STRING for strings and
 * blobs, POINT, REFERENCE for keys, NULL).
 *
 * Each list comes out in key order, so the ordinary query pipeline (key
 * range filters, ancestor, cursors, limits) runs over it unchanged.
 */
import type { IEntity, IKey, IValue } from '../../model/proto.js';
import { compareKeyPaths, compareUtf8 } from '../../model/key-order.js';
import type { DatabaseSnapshot, StoredEntity } from '../snapshot.js';
import type { Partition } from './filters.js';
import { valueTypeOf } from './values.js';
import { isReservedName } from '../../model/limits.js';

export const NAMESPACE_KIND = '__namespace__';
export const KIND_KIND = '__kind__';
export const PROPERTY_KIND = '__property__';


function metaEntity(snapshot: DatabaseSnapshot, partition: Partition, path: IKey['path'], properties: Record<string, IValue> = {}): StoredEntity {
  return {
    key: { partitionId: { ...partition }, path },
    properties,
    // Metadata entities are computed, not stored: they have no history.
    version: '0',
    createTime: snapshot.readTime,
    updateTime: snapshot.readTime,
  };
}

export function namespaceEntities(snapshot: DatabaseSnapshot, partition: Partition): StoredEntity[] {
  const out = snapshot
    .namespaces()
    .filter((ns) => snapshot.kinds(ns).some((k) => !isReservedName(k)))
    .map((ns) =>
      metaEntity(snapshot, partition, [ns === '' ? { kind: NAMESPACE_KIND, id: '1' } : { kind: NAMESPACE_KIND, name: ns }]),
    );
  return out.sort((a, b) => compareKeyPaths(a.key, b.key));
}

export function kindEntities(snapshot: DatabaseSnapshot, partition: Partition): StoredEntity[] {
  return snapshot
    .kinds(partition.namespaceId)
    .filter((k) => !isReservedName(k))
    .sort(compareUtf8)
    .map((k) => metaEntity(snapshot, partition, [{ kind: KIND_KIND, name: k }]));
}

function representation(v: IValue): string | undefined {
  switch (valueTypeOf(v)) {
    case 'integerValue':
    case 'timestampValue':
      return 'INT64';
    case 'doubleValue':
      return 'DOUBLE';
    case 'booleanValue':
      return 'BOOLEAN';
    case 'stringValue':
    case 'blobValue':
      return 'STRING';
    case 'geoPointValue':
      return 'POINT';
    case 'keyValue':
      return 'REFERENCE';
    case 'nullValue':
      return 'NULL';
    default:
      return undefined;
  }
}

/** Adds the indexed representations of one property value (arrays, embedded entities) to `seen`. */
function collect(name: string, v: IValue, seen: Map<string, Set<string>>, inArray: boolean): void {
  if (v.excludeFromIndexes) return;
  const t = valueTypeOf(v);
  if (t === 'arrayValue') {
    if (inArray) return;
    for (const e of v.arrayValue?.values ?? []) collect(name, e, seen, true);
    return;
  }
  if (t === 'entityValue') {
    const props = (v.entityValue as IEntity | null | undefined)?.properties ?? {};
    for (const [sub, sv] of Object.entries(props)) collect(`${name}.${sub}`, sv as IValue, seen, false);
    return;
  }
  const rep = representation(v);
  if (rep === undefined) return;
  let set = seen.get(name);
  if (!set) seen.set(name, (set = new Set()));
  set.add(rep);
}

/**
 * Property metadata of the namespace. With `onlyKind`, scans just that kind
 * (an ancestor filter on a `__kind__` key asks for one kind, and scanning
 * every kind would cost the whole namespace).
 */
export function propertyEntities(snapshot: DatabaseSnapshot, partition: Partition, onlyKind?: string): StoredEntity[] {
  const out: StoredEntity[] = [];
  const kinds = onlyKind !== undefined ? [onlyKind] : snapshot.kinds(partition.namespaceId);
  for (const kind of [...kinds].sort(compareUtf8)) {
    if (isReservedName(kind)) continue;
    const seen = new Map<string, Set<string>>();
    for (const e of snapshot.scan(partition.namespaceId, kind)) {
      for (const [name, v] of Object.entries(e.properties)) collect(name, v, seen, false);
    }
    for (const name of [...seen.keys()].sort(compareUtf8)) {
      const reps = [...seen.get(name)!].sort();
      out.push(
        metaEntity(snapshot, partition, [
          { kind: KIND_KIND, name: kind },
          { kind: PROPERTY_KIND, name },
        ], {
          property_representation: {
            valueType: 'arrayValue',
            arrayValue: { values: reps.map((r) => ({ valueType: 'stringValue', stringValue: r }) as IValue) },
          } as IValue,
        }),
      );
    }
  }
  return out;
}
