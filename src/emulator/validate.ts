/**
 * Property validation, as Datastore does it on write: reserved and over-long
 * names, indexed strings and blobs over 1,500 bytes, timestamps and geo points
 * out of range, arrays in arrays, key values. The entity size limit is
 * checked with model/storage-size.ts by the caller (commit.ts).
 */
import { isReservedName, MAX_INDEXED_BYTES, MAX_NAME_BYTES, MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from '../model/limits.js';
import type { Value as IValue } from '../model/proto.js';
import { normalizeKey, type RequestScope } from './keys.js';
import { invalidArgument } from './rpc-error.js';

function blobLength(b: unknown): number {
  if (b === null || b === undefined) return 0;
  if (typeof b === 'string') return Buffer.byteLength(b, 'base64');
  return (b as Uint8Array).length;
}

/**
 * Checks every property of an entity to be written (recursing into entity
 * values) and fills the project of key values that lack one, as Datastore
 * does. `where` names the mutation in messages.
 */
export function validateProperties(
  properties: Record<string, IValue> | null | undefined,
  scope: RequestScope,
  where: string,
): void {
  for (const name in properties ?? {}) {
    if (name === '') throw invalidArgument(`${where}: a property name is empty`);
    if (isReservedName(name)) throw invalidArgument(`${where}: property name "${name}" is reserved`);
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      throw invalidArgument(`${where}: property name "${name.slice(0, 40)}..." is longer than ${MAX_NAME_BYTES} bytes`);
    }
    validateValue(properties![name]!, name, scope, where, false, false);
  }
}

function validateValue(
  v: IValue,
  name: string,
  scope: RequestScope,
  where: string,
  inArray: boolean,
  parentExcluded: boolean,
): void {
  const excluded = parentExcluded || v.excludeFromIndexes === true;
  if (v.meaning === 18) throw invalidArgument(`${where}: property "${name}" has meaning 18, which is reserved`);
  switch (v.valueType) {
    case 'stringValue':
      if (!excluded && Buffer.byteLength(v.stringValue ?? '', 'utf8') > MAX_INDEXED_BYTES) {
        throw invalidArgument(
          `${where}: the value of property "${name}" is longer than ${MAX_INDEXED_BYTES} bytes` +
            ' (set excludeFromIndexes on it to store longer strings)',
        );
      }
      return;
    case 'blobValue':
      // The decoder hands out slices of the request buffer; a copy keeps the stored
      // entity from pinning the whole request in memory.
      if (Buffer.isBuffer(v.blobValue)) v.blobValue = Buffer.from(v.blobValue);
      if (!excluded && blobLength(v.blobValue) > MAX_INDEXED_BYTES) {
        throw invalidArgument(
          `${where}: the value of property "${name}" is longer than ${MAX_INDEXED_BYTES} bytes` +
            ' (set excludeFromIndexes on it to store larger blobs)',
        );
      }
      return;
    case 'doubleValue':
    case 'integerValue':
    case 'booleanValue':
    case 'nullValue':
      return;
    case 'timestampValue': {
      const s = Number(v.timestampValue?.seconds ?? 0);
      const n = v.timestampValue?.nanos ?? 0;
      if (!(s >= MIN_TIMESTAMP_SECONDS && s <= MAX_TIMESTAMP_SECONDS) || n < 0 || n > 999_999_999) {
        throw invalidArgument(`${where}: property "${name}" has a timestamp outside 0001-01-01 to 9999-12-31`);
      }
      return;
    }
    case 'geoPointValue': {
      const lat = v.geoPointValue?.latitude ?? 0;
      const lng = v.geoPointValue?.longitude ?? 0;
      if (!(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180)) {
        throw invalidArgument(`${where}: property "${name}" has an invalid geo point (${lat}, ${lng})`);
      }
      return;
    }
    case 'keyValue': {
      const key = v.keyValue;
      const own = key?.partitionId?.projectId;
      const keyScope = own
        ? { projectId: own, databaseId: key!.partitionId!.databaseId ?? '' }
        : scope;
      const normal = normalizeKey(key, keyScope, { allowIncomplete: false, refuseReserved: false }, `${where}: key value of property "${name}"`);
      v.keyValue = normal;
      return;
    }
    case 'entityValue': {
      const e = v.entityValue ?? {};
      if (e.key) {
        // An embedded entity's key may be incomplete and is not checked against the request.
        const own = e.key.partitionId?.projectId;
        normalizeKey(e.key, own ? { projectId: own, databaseId: e.key.partitionId?.databaseId ?? '' } : scope, { allowIncomplete: true, refuseReserved: false }, `${where}: key of the entity in property "${name}"`);
      }
      for (const sub in e.properties ?? {}) {
        if (isReservedName(sub)) throw invalidArgument(`${where}: property name "${name}.${sub}" is reserved`);
        validateValue(e.properties![sub]!, `${name}.${sub}`, scope, where, false, excluded);
      }
      return;
    }
    case 'arrayValue':
      if (inArray) throw invalidArgument(`${where}: property "${name}" is an array inside an array, which Datastore does not allow`);
      if (v.excludeFromIndexes === true) {
        throw invalidArgument(
          `${where}: property "${name}": an array value cannot have excludeFromIndexes set; set it on the array's values`,
        );
      }
      for (const e of v.arrayValue?.values ?? []) validateValue(e, name, scope, where, true, excluded);
      return;
    default:
      throw invalidArgument(`${where}: property "${name}" has no value type`);
  }
}
