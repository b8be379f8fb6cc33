/**
 * Which `meaning` a value may carry, and arrays inside arrays: one table, run
 * against the backend DSPIPE_TEST_BACKEND names, so dspipe's emulator is held
 * to what Google's two do (measured with every meaning on every value type).
 * Where those two differ, the row says what each does and which ours follows.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeBackend, startTestBackend, type BackendName, type TestBackend } from '../helpers/backend.js';
import type { IKey, IValue } from '../../src/model/proto.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const NO_RETRY = { retry: null } as unknown as Record<string, never>;
const U = (v: IValue): IValue => ({ ...v, excludeFromIndexes: true });
const S = (s: string) => U({ stringValue: s });
const user = (properties: Record<string, IValue>, extra: IValue = {}): IValue => U({ entityValue: { properties }, meaning: 20, ...extra });
/** The first microsecond after 9999-12-31T23:59:59.999999Z. */
const PAST_9999 = '253402300800000000';

/** `true`: stored with its meaning (or `{ meaning: n }`: read back with n); a RegExp: refused with that message. */
type Outcome = true | { meaning: number } | RegExp;
type Row = [label: string, value: IValue, outcome: Outcome, others?: Partial<Record<BackendName, Outcome>>];

const mismatch = (m: number, field: string) => new RegExp(`^Value "p" has a meaning ${m} which does not match ${field} field\\.`);
const unknown = (m: number) => new RegExp(`^Unknown value meaning ${m}\\.`);
/** Firestore's emulator says "Unexpected" for the meanings v3 has and v1 does not. */
const unexpected = (m: number) => ({ firestore: new RegExp(`^Unexpected value meaning ${m}\\.`) });

const ROWS: Row[] = [
  // what production stores, and restore must write back
  ...[1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 17].flatMap((m): Row[] => [
    [`string meaning ${m}`, { stringValue: 'p', meaning: m }, true],
    [`string meaning ${m}, unindexed`, U({ stringValue: 'p', meaning: m }), true],
    [`string meaning ${m} on a blob`, U({ blobValue: Buffer.from('p'), meaning: m }), mismatch(m, 'string_value')],
  ]),
  ['URL (2) indexed past 1,500 bytes', { stringValue: 'h'.repeat(2083), meaning: 2 }, true],
  ['URL (2) over 2,083 bytes', U({ stringValue: 'h'.repeat(2084), meaning: 2 }), /^The Url value is longer than 2083 bytes\./],
  ['TEXT (15) unindexed', U({ stringValue: 't'.repeat(3000), meaning: 15 }), true],
  ['TEXT (15) indexed', { stringValue: 't', meaning: 15 }, /^Indexed value has meaning 15\./],
  ['TEXT (15) in an unindexed entity, its own flag unset', U({ entityValue: { properties: { q: { stringValue: 'x', meaning: 15 } } } }), /^Indexed value has meaning 15\./],
  ['ZLIB (22) unindexed blob', U({ blobValue: Buffer.from('z'), meaning: 22 }), true],
  ['ZLIB (22) indexed blob', { blobValue: Buffer.from('z'), meaning: 22 }, /^Indexed value has meaning 22\./],
  ['ZLIB (22) on a string', { stringValue: 'p', meaning: 22 }, mismatch(22, 'blob_value')],
  ['BYTESTRING (16) unindexed blob', U({ blobValue: Buffer.alloc(3000, 7), meaning: 16 }), true],
  ['BYTESTRING (16) indexed blob: implied, read back without it', { blobValue: Buffer.from('z'), meaning: 16 }, { meaning: 0 }],
  ['GD_WHEN (7) integer past 9999', { integerValue: PAST_9999, meaning: 7 }, true],
  ['GD_WHEN (7) integer in the timestamp range', { integerValue: '5', meaning: 7 }, /^A timestamp in range \[0001-01-01T00:00:00Z, 9999-12-31T23:59:59\.999999Z\] must be stored as a timestamp value\./],
  ['GD_WHEN (7) on a timestamp', { timestampValue: { seconds: 5, nanos: 0 }, meaning: 7 }, mismatch(7, 'integer_value')],
  ['GD_RATING (13) 0..100', { integerValue: '100', meaning: 13 }, true],
  ['GD_RATING (13) 101', { integerValue: '101', meaning: 13 }, /^Percent value outside permitted range \[0, 100\]\./],
  ['user (20)', user({ email: S('a@b'), auth_domain: S('gmail.com'), user_id: S('1'), federated_identity: S('f'), federated_provider: S('p') }), true],
  ['user (20) without auth_domain', user({ email: S('a@b') }), /^The user entity is missing required property "auth_domain"\./],
  ['user (20) with another property', user({ x: S('1'), email: S('a@b') }), /^The user entity property "x" is not allowed\./],
  ['user (20) with internal_id', user({ email: S('a@b'), auth_domain: S('g'), internal_id: U({ integerValue: '5' }) }), /^A user value cannot contain a internal_id property\./],
  ['user (20) with an indexed email', user({ email: { stringValue: 'a@b' }, auth_domain: S('g') }), /^The user entity property "email" is indexed\./],
  ['user (20) with an integer email', user({ email: U({ integerValue: '1' }), auth_domain: S('g') }), /^The user entity property "email" is the wrong type\./],
  ['user (20) with a key', U({ entityValue: { key: { path: [{ kind: 'U', name: 'u' }] }, properties: { email: S('a'), auth_domain: S('g') } }, meaning: 20 }), /^The user entity has a key\./],
  ['user (20) on a string', { stringValue: 'p', meaning: 20 }, mismatch(20, 'entity_value')],
  // Google's emulators differ: legacy (and Google's v1 validator) take a v3 point, Firestore's refuses it
  // on commit (yet imports it); App Engine data can hold it, so ours takes it, range unchecked.
  ['v3 point (23) on a geo point', { geoPointValue: { latitude: 1, longitude: 2 }, meaning: 23 }, true, { firestore: /^OnestoreEntity\.PropertyValue meaning does not match value fields\./ }],
  ['v3 point (23) out of range', { geoPointValue: { latitude: 100, longitude: 2 }, meaning: 23 }, true, { firestore: /meaning does not match value fields/ }],
  ['v3 point (23) on a string', { stringValue: 'p', meaning: 23 }, mismatch(23, 'geo_point_value')],
  // refused everywhere
  ['14 (BLOB) on an integer', { integerValue: '5', meaning: 14 }, unknown(14), unexpected(14)],
  ['14 (BLOB) on a blob', U({ blobValue: Buffer.from('z'), meaning: 14 }), unknown(14), unexpected(14)],
  ['9 (GEORSS_POINT) on a string', { stringValue: 'p', meaning: 9 }, unknown(9), unexpected(9)],
  ['21 on an entity', { entityValue: { properties: {} }, meaning: 21 }, unknown(21), unexpected(21)],
  ['24 (EMPTY_LIST) on a null', { nullValue: 'NULL_VALUE', meaning: 24 }, unknown(24), unexpected(24)],
  ['999 on a string', { stringValue: 'p', meaning: 999 }, unknown(999)],
  ['-1 on a string', { stringValue: 'p', meaning: -1 }, unknown(-1)],
  ['a string meaning (1) on an integer', { integerValue: '5', meaning: 1 }, mismatch(1, 'string_value')],
  ['a string meaning (15) on a boolean', { booleanValue: true, meaning: 15 }, mismatch(15, 'string_value')],
  ['16 on a string', { stringValue: 'p', meaning: 16 }, mismatch(16, 'blob_value')],
  ['18 (INDEX_VALUE, projections only) on an integer', { integerValue: '5', meaning: 18 }, /^Projection property cannot be used\./],
  ['18 on a timestamp', { timestampValue: { seconds: 5, nanos: 0 }, meaning: 18 }, mismatch(18, 'timestamp_value')],
  ['19 (ENTITY_PROTO) on a blob', U({ blobValue: Buffer.from('z'), meaning: 19 }), /^Unknown meaning 19\./],
  ['19 on a string', { stringValue: 'p', meaning: 19 }, mismatch(19, 'blob_value')],
  ['a meaning inside an entity value', { entityValue: { properties: { q: { integerValue: '1', meaning: 14 } } } }, unknown(14), unexpected(14)],
  ['a meaning inside an entity value names the inner property', { entityValue: { properties: { q: { stringValue: 'p', meaning: 22 } } } }, /^Value "q" has a meaning 22 which does not match blob_value field\./],
  ['a meaning on an array element', { arrayValue: { values: [{ integerValue: '1', meaning: 14 }] } }, unknown(14), unexpected(14)],
  ['an allowed meaning on an array element', { arrayValue: { values: [U({ stringValue: 'x', meaning: 15 })] } }, true],
  // the documented API: an array value must not set meaning (Firestore's emulator knows 31, vectors of Native mode)
  ['a meaning on an array', { arrayValue: { values: [] }, meaning: 1 }, /^A Value containing a list_value cannot specify a meaning\./],
  ['meaning 0 on an array', { arrayValue: { values: [] }, meaning: 0 }, true],
  [
    'a vector (31): doubles, unindexed',
    { arrayValue: { values: [{ doubleValue: 1.5 }] }, meaning: 31, excludeFromIndexes: true },
    /^A Value containing a list_value cannot specify a meaning\./,
    { firestore: true },
  ],
  // arrays inside arrays: refused by the documented API and both emulators, but legacy takes an empty inner array
  ['[[1]]', { arrayValue: { values: [{ arrayValue: { values: [{ integerValue: '1' }] } }] } }, /^list_value cannot contain a Value containing another list_value\./],
  ['[1, [2]]', { arrayValue: { values: [{ integerValue: '1' }, { arrayValue: { values: [{ integerValue: '2' }] } }] } }, /^list_value cannot contain a Value containing another list_value\./],
  ['[[]]', { arrayValue: { values: [{ arrayValue: { values: [] } }] } }, /^list_value cannot contain a Value containing another list_value\./, { legacy: true, firestore: /^Empty lists cannot be multiple/ }],
  ['[{q: [1]}]: an array in an entity in an array', { arrayValue: { values: [{ entityValue: { properties: { q: { arrayValue: { values: [{ integerValue: '1' }] } } } } }] } }, true],
  ['an unindexed array', { arrayValue: { values: [{ integerValue: '1' }] }, excludeFromIndexes: true }, /^Exclude from indexes cannot be set on a list value/],
];

describe(`meanings and arrays on write ${describeBackend()}`, () => {
  let n = 0;
  for (const [label, value, outcome, others] of ROWS) {
    test(label, async () => {
      const expected = others?.[t.name] ?? outcome;
      const key: IKey = { partitionId: { projectId: t.connection.projectId }, path: [{ kind: 'M', id: String(++n) }] };
      const write = t.client.commit({ projectId: t.connection.projectId, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key, properties: { p: value } } }] }, NO_RETRY);
      if (expected instanceof RegExp) {
        await assert.rejects(write, (err: { code?: number; details?: string }) => {
          assert.equal(err.code, 3, String(err.details));
          assert.match(String(err.details), expected);
          return true;
        });
        return;
      }
      await write;
      const [res] = await t.client.lookup({ projectId: t.connection.projectId, keys: [key] }, NO_RETRY);
      const back = res.found?.[0]?.entity?.properties?.p;
      assert.ok(back, 'stored');
      assert.equal(back.meaning ?? 0, expected === true ? (value.meaning ?? 0) : expected.meaning);
      assert.equal(back.valueType, Object.keys(value).find((k) => k.endsWith('Value')));
    });
  }
});
