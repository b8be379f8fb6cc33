/**
 * Property validation, as Datastore does it on write: reserved and over-long
 * names, indexed strings and blobs over 1,500 bytes, timestamps and geo points
 * out of range, arrays in arrays, meanings that do not fit their value
 * (meanings.ts), key values, entity values nested deeper than 20 and more
 * than MAX_INDEXED_VALUES indexed values, unindexed strings and blobs over
 * 1,048,487 bytes (Datastore's documented limit for an unindexed value; the
 * Firestore emulator refuses them, legacy only blobs). The entity size limit is checked with
 * model/storage-size.ts by the caller (commit.ts).
 */
import {
  isReservedName, MAX_ENTITY_DEPTH, MAX_UNINDEXED_BYTES, MAX_INDEXED_BYTES, MAX_INDEXED_VALUES, MAX_NAME_BYTES, MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS,
} from '../model/limits.js';
import type { IKey, Value as IValue } from '../model/proto.js';
import type { ValueField } from '../model/value-types.js';
import { normalizeKey, type RequestScope } from './keys.js';
import { keepsMeaning, meaningRefusal, POINT_WITHOUT_V3_MEANING, URL_MEANING } from './meanings.js';
import { invalidArgument } from './rpc-error.js';

/** A refusal in Google's words, with where it happened after them. */
const refused = (google: string, where: string, path: string) => invalidArgument(`${google} (${where}, property "${path}")`);

function blobLength(b: unknown): number {
  if (b === null || b === undefined) return 0;
  if (typeof b === 'string') return Buffer.byteLength(b, 'base64');
  return (b as Uint8Array).length;
}

/**
 * Checks every property of an entity to be written (recursing into entity
 * values) and fills the project of key values that lack one, as Datastore
 * does. `where` names the mutation in messages. Returns whether the values
 * are as they came: false when a key value was completed or a meaning
 * dropped (the request's bytes then no longer say what is stored).
 */
export function validateProperties(
  properties: Record<string, IValue> | null | undefined,
  scope: RequestScope,
  where: string,
): boolean {
  const walk: Walk = { indexed: 0, depth: 0, top: '', changed: false };
  for (const name in properties ?? {}) {
    if (name === '') throw invalidArgument(`${where}: a property name is empty`);
    if (isReservedName(name)) throw invalidArgument(`${where}: property name "${name}" is reserved`);
    if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
      throw invalidArgument(`${where}: property name "${name.slice(0, 40)}..." is longer than ${MAX_NAME_BYTES} bytes`);
    }
    walk.top = name;
    validateValue(properties![name]!, name, name, scope, where, false, false, walk);
  }
  // Production counts indexed values plus composite index entries against 20,000; we have no composite indexes.
  if (walk.indexed > MAX_INDEXED_VALUES) {
    throw invalidArgument(`Too many indexed properties (${where}: ${walk.indexed} indexed values, at most ${MAX_INDEXED_VALUES}; set excludeFromIndexes on the ones never queried)`);
  }
  return !walk.changed;
}

/** What the walk over one entity has seen so far. */
interface Walk {
  indexed: number;
  depth: number;
  /** The top-level property being checked (Google's messages name it for nested values). */
  top: string;
  /** A value was changed: a key value completed, a meaning dropped. */
  changed: boolean;
}

/** A string or blob too long for its indexing, in the Firestore emulator's words (production documents both limits). */
function tooLong(bytes: number, excluded: boolean, leaf: string, name: string, where: string, walk: Walk, what: string): Error | undefined {
  const limit = excluded ? MAX_UNINDEXED_BYTES : MAX_INDEXED_BYTES;
  if (bytes <= limit) return undefined;
  const hint = excluded ? '' : `: set excludeFromIndexes on it to store longer ${what}`;
  if (walk.depth > 0 && excluded) {
    return invalidArgument(`Property ${walk.top} contains an invalid nested entity. (${where}: the value of "${name}" is longer than ${limit} bytes)`);
  }
  return invalidArgument(`The value of property "${leaf}" is longer than ${limit} bytes. (${where}, property "${name}"${hint})`);
}

/** `name` is the property's path for our messages, `leaf` its own name for Google's. */
function validateValue(
  v: IValue,
  name: string,
  leaf: string,
  scope: RequestScope,
  where: string,
  inArray: boolean,
  parentExcluded: boolean,
  walk: Walk,
): void {
  const excluded = parentExcluded || v.excludeFromIndexes === true;
  // An array or an entity value is not an index entry itself: its elements and properties are.
  if (!excluded && v.valueType !== 'arrayValue' && v.valueType !== 'entityValue') walk.indexed++;
  const field = v.valueType as ValueField | undefined;
  if (v.meaning && field !== undefined) {
    const refusal = meaningRefusal(v, field, leaf, v.excludeFromIndexes === true);
    if (refusal !== undefined) throw refused(refusal, where, name);
    if (!keepsMeaning(v, field, v.excludeFromIndexes === true)) {
      v.meaning = 0;
      walk.changed = true;
    }
  }
  switch (v.valueType) {
    case 'stringValue':
      // a URL may be indexed up to its own limit, checked with its meaning
      if (v.meaning !== URL_MEANING || excluded) {
        const err = tooLong(Buffer.byteLength(v.stringValue ?? '', 'utf8'), excluded, leaf, name, where, walk, 'strings');
        if (err) throw err;
      }
      return;
    case 'blobValue':
      // The decoder hands out slices of the request buffer; a copy keeps the stored
      // entity from pinning the whole request in memory.
      if (Buffer.isBuffer(v.blobValue)) v.blobValue = Buffer.from(v.blobValue);
      {
        const err = tooLong(blobLength(v.blobValue), excluded, leaf, name, where, walk, 'blobs');
        if (err) throw err;
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
      // a v3 point (meaning 23) was never range-checked, and Datastore keeps it as it is
      if (v.meaning !== POINT_WITHOUT_V3_MEANING && (!(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180))) {
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
      if (!sameKey(key!, normal)) walk.changed = true;
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
      if (++walk.depth > MAX_ENTITY_DEPTH) throw refused(`At most ${MAX_ENTITY_DEPTH} nested entity values are supported.`, where, name);
      for (const sub in e.properties ?? {}) {
        if (isReservedName(sub)) throw invalidArgument(`${where}: property name "${name}.${sub}" is reserved`);
        validateValue(e.properties![sub]!, `${name}.${sub}`, sub, scope, where, false, excluded, walk);
      }
      walk.depth--;
      return;
    }
    case 'arrayValue':
      // The documented API: an array "cannot contain another array value". The legacy
      // emulator takes an empty inner array ([[]]), Firestore's refuses it too; so do we.
      if (inArray) throw refused('list_value cannot contain a Value containing another list_value.', where, name);
      if (v.excludeFromIndexes === true) {
        throw invalidArgument(`Exclude from indexes cannot be set on a list value (${where}, property "${name}": set it on the array's values)`);
      }
      for (const e of v.arrayValue?.values ?? []) validateValue(e, name, leaf, scope, where, true, excluded, walk);
      return;
    default:
      throw invalidArgument(`${where}: property "${name}" has no value type`);
  }
}

/** Whether normalizing left a key as it was: the same partition (missing fields as '') and path. */
function sameKey(a: IKey, b: IKey): boolean {
  const pa = a.partitionId;
  const pb = b.partitionId;
  if ((pa?.projectId ?? '') !== (pb?.projectId ?? '') || (pa?.databaseId ?? '') !== (pb?.databaseId ?? '') || (pa?.namespaceId ?? '') !== (pb?.namespaceId ?? '')) return false;
  const x = a.path ?? [];
  const y = b.path ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const e = x[i]!;
    const f = y[i]!;
    if ((e.kind ?? '') !== (f.kind ?? '') || (e.id == null ? undefined : String(e.id)) !== (f.id ?? undefined) || (e.name ?? undefined) !== (f.name ?? undefined)) return false;
  }
  return true;
}
