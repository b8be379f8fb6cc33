/**
 * Google's storage-size formula ("Storage size calculations" in the Datastore
 * mode docs), the one measure of an entity's size: the 1,048,572-byte entity
 * limit is checked with it, and schema reports it.
 *
 * - a string (kind, namespace, property name, key name, string value) is its UTF-8 bytes + 1;
 * - a key is 16 + its namespace (when not the default) + each path element's
 *   kind + its id (8 bytes) or name (a string);
 * - null and booleans 1, integers, doubles and timestamps 8, geo points 16,
 *   blobs their length, arrays the sum of their values, embedded entities an entity;
 * - an entity is 32 + its key + each property's name and value.
 */
import type { IEntity, IKey, IPathElement, IValue } from './proto.js';
import { valueFieldOf } from './value-types.js';

export function stringSize(s: string): number {
  return Buffer.byteLength(s, 'utf8') + 1;
}

/**
 * A path element's id or name. An id counts 8 bytes; a name counts as a
 * string. An element with neither (an incomplete key, whose id Datastore
 * allocates on write) counts as the id it will get. Id "0" is no id.
 */
function identifierSize(e: IPathElement): number {
  const id = e.id;
  if (id !== null && id !== undefined && String(id) !== '0') return 8;
  return e.name !== null && e.name !== undefined && e.name !== '' ? stringSize(e.name) : 8;
}

export function keySize(key: IKey): number {
  const ns = key.partitionId?.namespaceId;
  let size = ns ? 16 + stringSize(ns) : 16;
  for (const e of key.path ?? []) size += stringSize(e.kind ?? '') + identifierSize(e);
  return size;
}

function blobSize(b: unknown): number {
  if (b === null || b === undefined) return 0;
  // The JSON mapping holds blobs as base64; byteLength decodes the length without a copy.
  if (typeof b === 'string') return Buffer.byteLength(b, 'base64');
  return (b as Uint8Array).length;
}

export function valueSize(value: IValue): number {
  switch (valueFieldOf(value)) {
    case 'integerValue':
    case 'doubleValue':
    case 'timestampValue':
      return 8;
    case 'geoPointValue':
      return 16;
    case 'stringValue':
      return stringSize(value.stringValue ?? '');
    case 'blobValue':
      return blobSize(value.blobValue);
    case 'keyValue':
      return keySize(value.keyValue ?? {});
    case 'entityValue':
      return entitySize(value.entityValue ?? {});
    case 'arrayValue': {
      let size = 0;
      for (const v of value.arrayValue?.values ?? []) size += valueSize(v);
      return size;
    }
    default:
      // null and boolean; a value with no variant set is the null value.
      return 1;
  }
}

export function entitySize(entity: IEntity): number {
  let size = 32 + (entity.key ? keySize(entity.key) : 0);
  const props = entity.properties ?? {};
  for (const name in props) size += stringSize(name) + valueSize(props[name]!);
  return size;
}
