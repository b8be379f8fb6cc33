/**
 * `meaning` on write, as Datastore checks it. The v1 API documents the field
 * only as kept "for backwards compatibility" and forbids it on array values;
 * the numbers are App Engine's (the v3 Property.Meaning enum, plus v1's own
 * 20–24), and which value each may sit on is what Google's v1 validator in the
 * Cloud SDK (google/appengine/datastore/cloud_datastore_validator.py) and both
 * Google emulators enforce (measured 2026-12, every meaning −1…31 on every
 * value type). Both emulators agree everywhere but on 23, see below.
 * Messages are theirs.
 *
 * Every meaning production stores is accepted, so real data restores: 15
 * (TEXT) and 22 (ZLIB) on unindexed values, 16 (BYTESTRING) on blobs, 7 on
 * integers outside the timestamp range, 20 on App Engine user values, 1–6,
 * 8, 10–12, 17 on strings, 13 on integers, 23 on geo points.
 */
import { MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from '../model/limits.js';
import type { Value as IValue } from '../model/proto.js';
import { valueFieldOf, type ValueField } from '../model/value-types.js';

/** A rule broken: the message, Google's words. */
type Check = (v: IValue, ownExcluded: boolean) => string | undefined;

interface Meaning {
  /** The one value type it may be set on. */
  on: ValueField;
  check?: Check;
}

const indexedRefused = (meaning: number): Check => (_v, ownExcluded) => (ownExcluded ? undefined : `Indexed value has meaning ${meaning}.`);

/** ATOM_LINK: a URL, which may be indexed past the usual 1,500 bytes, up to MAX_URL_BYTES. */
export const URL_MEANING = 2;
const MAX_URL_BYTES = 2083;

const MIN_MICROS = BigInt(MIN_TIMESTAMP_SECONDS) * 1_000_000n;
const MAX_MICROS = BigInt(MAX_TIMESTAMP_SECONDS) * 1_000_000n + 999_999n;

/** The user value's properties (meaning 20) and the type each must have. */
const USER_PROPERTIES: Readonly<Record<string, ValueField>> = {
  email: 'stringValue',
  auth_domain: 'stringValue',
  user_id: 'stringValue',
  federated_identity: 'stringValue',
  federated_provider: 'stringValue',
};
const USER_REQUIRED = ['email', 'auth_domain'];

function checkUser(v: IValue): string | undefined {
  const e = v.entityValue ?? {};
  if (e.key) return 'The user entity has a key.';
  for (const [name, p] of Object.entries(e.properties ?? {})) {
    // internal_id is what App Engine keeps of a user and v1 may not write
    if (name === 'internal_id') return 'A user value cannot contain a internal_id property.';
    const type = USER_PROPERTIES[name];
    if (type === undefined) return `The user entity property "${name}" is not allowed.`;
    if (valueFieldOf(p) !== type) return `The user entity property "${name}" is the wrong type.`;
    if (p.meaning) return `The user entity property "${name}" has a meaning.`;
    if (p.excludeFromIndexes !== true) return `The user entity property "${name}" is indexed.`;
  }
  const missing = USER_REQUIRED.find((name) => !(name in (e.properties ?? {})));
  return missing === undefined ? undefined : `The user entity is missing required property "${missing}".`;
}

/** Meaning → the value it may appear on and its rule. A meaning not here is unknown. */
export const MEANINGS: ReadonlyMap<number, Meaning> = new Map<number, Meaning>([
  [1, { on: 'stringValue' }], // ATOM_CATEGORY
  [
    URL_MEANING,
    {
      on: 'stringValue',
      check: (v) => (Buffer.byteLength(v.stringValue ?? '', 'utf8') > MAX_URL_BYTES ? `The Url value is longer than ${MAX_URL_BYTES} bytes.` : undefined),
    },
  ],
  [3, { on: 'stringValue' }], // ATOM_TITLE
  [4, { on: 'stringValue' }], // ATOM_CONTENT
  [5, { on: 'stringValue' }], // ATOM_SUMMARY
  [6, { on: 'stringValue' }], // ATOM_AUTHOR
  [
    7, // GD_WHEN: a time outside what a timestampValue holds, as µs in an integer
    {
      on: 'integerValue',
      check: (v) => {
        const micros = BigInt(String(v.integerValue ?? 0));
        return micros >= MIN_MICROS && micros <= MAX_MICROS
          ? 'A timestamp in range [0001-01-01T00:00:00Z, 9999-12-31T23:59:59.999999Z] must be stored as a timestamp value.'
          : undefined;
      },
    },
  ],
  [8, { on: 'stringValue' }], // GD_EMAIL
  [10, { on: 'stringValue' }], // GD_IM
  [11, { on: 'stringValue' }], // GD_PHONENUMBER
  [12, { on: 'stringValue' }], // GD_POSTALADDRESS
  [
    13, // GD_RATING
    {
      on: 'integerValue',
      check: (v) => {
        const n = BigInt(String(v.integerValue ?? 0));
        return n < 0n || n > 100n ? 'Percent value outside permitted range [0, 100].' : undefined;
      },
    },
  ],
  [15, { on: 'stringValue', check: indexedRefused(15) }], // TEXT
  [16, { on: 'blobValue' }], // BYTESTRING: on an indexed blob it is implied, and dropped (see below)
  [17, { on: 'stringValue' }], // BLOBKEY
  [20, { on: 'entityValue', check: checkUser }], // an App Engine user
  [22, { on: 'blobValue', check: indexedRefused(22) }], // ZLIB
  // A v3 point without GEORSS_POINT. The legacy emulator and Google's v1 validator take it
  // (without the latitude/longitude range check); the Firestore emulator refuses it on
  // commit but imports it from a managed export. Real App Engine data can hold it, the
  // documented API does not forbid it, so ours follows the legacy emulator.
  [23, { on: 'geoPointValue' }],
]);

/** The meaning that lets a geo point out of the latitude/longitude range. */
export const POINT_WITHOUT_V3_MEANING = 23;

const FIELD_NAMES: Readonly<Record<ValueField, string>> = {
  nullValue: 'null_value',
  booleanValue: 'boolean_value',
  integerValue: 'integer_value',
  doubleValue: 'double_value',
  timestampValue: 'timestamp_value',
  keyValue: 'key_value',
  stringValue: 'string_value',
  blobValue: 'blob_value',
  geoPointValue: 'geo_point_value',
  entityValue: 'entity_value',
  arrayValue: 'array_value',
};

const mismatch = (name: string, meaning: number, field: string) => `Value "${name}" has a meaning ${meaning} which does not match ${field} field.`;

/**
 * Why a value's meaning is refused (Google's message), or undefined if it may
 * stay. `name` is the property's own name, as Google's messages give it;
 * `ownExcluded` the value's own excludeFromIndexes (not an enclosing
 * entity's: Google checks TEXT and ZLIB against the value's own flag).
 */
export function meaningRefusal(v: IValue, field: ValueField, name: string, ownExcluded: boolean): string | undefined {
  const meaning = v.meaning;
  if (!meaning) return undefined;
  if (field === 'arrayValue') return 'A Value containing a list_value cannot specify a meaning.';
  const known = MEANINGS.get(meaning);
  if (known !== undefined) return known.on === field ? known.check?.(v, ownExcluded) : mismatch(name, meaning, FIELD_NAMES[known.on]);
  if (meaning === 18) {
    // INDEX_VALUE: what a projection returns, never written back
    return field === 'timestampValue' || field === 'entityValue' ? mismatch(name, meaning, FIELD_NAMES[field]) : 'Projection property cannot be used.';
  }
  if (meaning === 19) return field === 'blobValue' ? 'Unknown meaning 19.' : mismatch(name, meaning, 'blob_value'); // ENTITY_PROTO: v3 only
  // 9 (GEORSS_POINT), 14 (BLOB), 21, 24 (EMPTY_LIST) are v3's, expressed otherwise in v1;
  // Firestore's emulator says "Unexpected" for these, the legacy one "Unknown", as both do for the rest.
  // 31 (vector) is Firestore's (Native mode); the documented Datastore API forbids a meaning on an array.
  return `Unknown value meaning ${meaning}.`;
}

/** Whether Datastore keeps the meaning: BYTESTRING on an indexed blob is implied, and both Google emulators read it back as 0. */
export function keepsMeaning(v: IValue, field: ValueField, ownExcluded: boolean): boolean {
  return !(v.meaning === 16 && field === 'blobValue' && !ownExcluded);
}
