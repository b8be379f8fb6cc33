/**
 * Answers where dspipe's emulator used to differ from Google's (issue 13,
 * "Parity with Google's answers"), each through the official client and
 * stated as the rule both Google emulators follow (seen 2026-12-02 on
 * cloud_datastore_emulator and cloud_firestore_emulator 528, the same
 * requests). Runs on every backend, so DSPIPE_TEST_BACKEND=legacy|firestore
 * checks the expectations against Google's own answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, describeBackend, startTestBackend, type TestBackend } from '../helpers/backend.js';

const NO_RETRY = { retry: null } as unknown as Record<string, never>;
type Json = Record<string, any>;

let t: TestBackend;
let P: string;

const put = (name: string, kind: string, properties: Json) => ({ upsert: { key: { path: [{ kind, name }] }, properties } });
async function names(query: Json): Promise<string[]> {
  const [r] = await t.client.runQuery({ projectId: P, query } as never, NO_RETRY);
  return r.batch!.entityResults!.map((e: Json) => e.entity!.key!.path![0]!.name!);
}
async function refusal(query: Json): Promise<{ code: number; details: string }> {
  return t.client.runQuery({ projectId: P, query } as never, NO_RETRY).then(
    () => assert.fail('the query was accepted'),
    (err: { code: number; details: string }) => err,
  );
}
const filter = (property: string, op: string, value: Json) => ({ propertyFilter: { property: { name: property }, op, value } });

describe(`parity with Google's emulators ${describeBackend()}`, () => {
  before(async () => {
    t = await startTestBackend();
    P = t.connection.projectId;
    await t.client.commit(
      {
        projectId: P,
        mode: 'NON_TRANSACTIONAL',
        mutations: [
          put('s', 'V', { v: { stringValue: 'a' } }),
          put('b', 'V', { v: { blobValue: Buffer.from('a') } }),
          put('b2', 'V', { v: { blobValue: Buffer.from([0x7a]) } }),
          put('s2', 'V', { v: { stringValue: 'B' } }),
          put('neg', 'D', { v: { doubleValue: -0 } }),
          put('pos', 'D', { v: { doubleValue: 0 } }),
          put('x', 'A', { nums: { arrayValue: { values: [{ integerValue: '1' }, { integerValue: '5' }] } } }),
          put('y', 'A', { nums: { arrayValue: { values: [{ integerValue: '3' }] } } }),
          put('p', 'R', { a: { integerValue: '1' } }),
          ...([['k1', 3, 'x'], ['k2', 1, 'z'], ['k3', 2, 'y'], ['k4', 1, 'a']] as const).map(([n, a, b]) => put(n, 'P', { a: { integerValue: String(a) }, b: { stringValue: b } })),
          ...[1, 2, 3, 4].map((i) => ({
            upsert: {
              key: { path: [{ kind: 'R', name: 'p' }, { kind: 'C', name: `c${i}` }] },
              properties: { a: { integerValue: String(i) }, s: { stringValue: `x${i}`, meaning: 0 }, b: { blobValue: Buffer.from('hi') }, raw: { blobValue: Buffer.from([0xff, 0xfe]) } },
            },
          })),
        ],
      } as never,
      NO_RETRY,
    );
  });
  after(() => t.close());

  test('blobs and strings are one class, ordered and compared by bytes', async () => {
    // "B" (42) < blob 61 = "a" (61, tie broken by key: b < s) < blob 7a
    assert.deepEqual(await names({ kind: [{ name: 'V' }], order: [{ property: { name: 'v' } }] }), ['s2', 'b', 's', 'b2']);
    assert.deepEqual(await names({ kind: [{ name: 'V' }], filter: filter('v', 'EQUAL', { stringValue: 'a' }) }), ['b', 's']);
    assert.deepEqual(await names({ kind: [{ name: 'V' }], filter: filter('v', 'EQUAL', { blobValue: Buffer.from('a') }) }), ['b', 's']);
  });

  test('-0.0 and 0.0 are distinct values, -0 first', async () => {
    assert.deepEqual(await names({ kind: [{ name: 'D' }], order: [{ property: { name: 'v' } }] }), ['neg', 'pos']);
    assert.deepEqual(await names({ kind: [{ name: 'D' }], filter: filter('v', 'EQUAL', { doubleValue: -0 }) }), ['neg']);
    assert.deepEqual(await names({ kind: [{ name: 'D' }], filter: filter('v', 'EQUAL', { doubleValue: 0 }) }), ['pos']);
  });

  test('two range filters on one array property are met by a single value', async () => {
    const q = { kind: [{ name: 'A' }], filter: { compositeFilter: { op: 'AND', filters: [filter('nums', 'GREATER_THAN', { integerValue: '2' }), filter('nums', 'LESS_THAN', { integerValue: '4' })] } } };
    assert.deepEqual(await names(q), ['y']);
    // An equality still matches any value of the array.
    const eq = { kind: [{ name: 'A' }], filter: { compositeFilter: { op: 'AND', filters: [filter('nums', 'EQUAL', { integerValue: '1' }), filter('nums', 'EQUAL', { integerValue: '5' })] } } };
    assert.deepEqual(await names(eq), ['x']);
  });

  test('an entity value as a filter value is refused', async () => {
    const err = await refusal({ kind: [{ name: 'V' }], filter: filter('v', 'EQUAL', { entityValue: { properties: {} } }) });
    assert.equal(err.code, 3);
    assert.match(err.details, /^An entity value is not allowed/);
  });

  test('an incomplete key in a __key__ or ancestor filter is refused', async () => {
    for (const op of ['EQUAL', 'HAS_ANCESTOR']) {
      const err = await refusal({ kind: [{ name: 'V' }], filter: filter('__key__', op, { keyValue: { path: [{ kind: 'V' }] } }) });
      assert.equal(err.code, 3);
      assert.match(err.details, /^Key path element must not be incomplete: \[V: \]/);
    }
  });

  test('Lookup: no fixed cap on keys (1,001 are answered), and no keys is an empty answer', async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => ({ path: [{ kind: 'V', name: `none-${i}` }] }));
    const [r] = await t.client.lookup({ projectId: P, keys }, NO_RETRY);
    assert.equal(r.missing!.length, 1001);
    assert.equal(r.found!.length, 0);
    assert.equal((r.deferred ?? []).length, 0);
    const [empty] = await t.client.lookup({ projectId: P, keys: [] }, NO_RETRY);
    assert.equal(empty.found!.length + empty.missing!.length, 0);
  });

  test('ReserveIds takes a key with a name (it reserves nothing)', async () => {
    const [r] = await t.client.reserveIds({ projectId: P, keys: [{ path: [{ kind: 'V', name: 'zz' }] }] }, NO_RETRY);
    assert.ok(r);
  });

  test('an ancestor in only one branch of an OR is refused', async () => {
    const ancestor = { keyValue: { path: [{ kind: 'R', name: 'p' }] } };
    const err = await refusal({
      kind: [{ name: 'C' }],
      filter: { compositeFilter: { op: 'OR', filters: [
        { compositeFilter: { op: 'AND', filters: [filter('__key__', 'HAS_ANCESTOR', ancestor), filter('a', 'EQUAL', { integerValue: '1' })] } },
        filter('a', 'EQUAL', { integerValue: '2' }),
      ] } },
    });
    assert.equal(err.code, 3);
    assert.match(err.details, /^All disjunctions must have a common and unique ancestor constraint\./);
  });

  test('a read-write transaction cannot retry a read-only one', async () => {
    const [ro] = await t.client.beginTransaction({ projectId: P, transactionOptions: { readOnly: {} } }, NO_RETRY);
    const err = await t.client.beginTransaction({ projectId: P, transactionOptions: { readWrite: { previousTransaction: ro.transaction } } }, NO_RETRY).then(
      () => assert.fail('began'),
      (e: { code: number; details: string }) => e,
    );
    assert.equal(err.code, 3);
    assert.match(err.details, /^Cannot retry a read-only transaction\./);
  });

  test('id 0 is refused in Google\'s words', async () => {
    const err = await t.client.lookup({ projectId: P, keys: [{ path: [{ kind: 'V', id: '0' }] }] }, NO_RETRY).then(
      () => assert.fail('looked up'),
      (e: { code: number; details: string }) => e,
    );
    assert.equal(err.code, 3);
    assert.match(err.details, /^Key path id is invalid\. Must not be zero\./);
  });

  test('projected values carry meaning 18; a blob that is UTF-8 comes back as a string', async () => {
    const [r] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'C' }], projection: [{ property: { name: 'a' } }, { property: { name: 's' } }, { property: { name: 'b' } }], order: [{ property: { name: 'a' } }], limit: { value: 1 } } } as never, NO_RETRY);
    const props = r.batch!.entityResults![0]!.entity!.properties! as Json;
    assert.equal(String(props.a.integerValue), '1');
    assert.equal(props.s.stringValue, 'x1');
    assert.equal(props.b.stringValue, 'hi');
    for (const name of ['a', 's', 'b']) assert.equal(props[name].meaning, 18, name);
    const [raw] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'C' }], projection: [{ property: { name: 'raw' } }], limit: { value: 1 } } } as never, NO_RETRY);
    const rawValue = (raw.batch!.entityResults![0]!.entity!.properties! as Json).raw;
    assert.deepEqual(Buffer.from(rawValue.blobValue), Buffer.from([0xff, 0xfe]));
  });

  test('a page that holds exactly the last rows says NO_MORE_RESULTS (the Firestore emulator; legacy: MORE_RESULTS_AFTER_LIMIT)', async () => {
    const more = async (limit: number) => (await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'C' }], limit: { value: limit } } } as never, NO_RETRY))[0].batch!.moreResults;
    assert.equal(await more(2), 'MORE_RESULTS_AFTER_LIMIT');
    assert.equal(await more(4), backendName() === 'legacy' ? 'MORE_RESULTS_AFTER_LIMIT' : 'NO_MORE_RESULTS');
  });

  test('a projection without an order comes by the projected values, properties taken by name', async () => {
    const projected = (...props: string[]) => names({ kind: [{ name: 'P' }], projection: props.map((name) => ({ property: { name } })) });
    assert.deepEqual(await projected('a'), ['k2', 'k4', 'k3', 'k1']);
    assert.deepEqual(await projected('b'), ['k4', 'k1', 'k3', 'k2']);
    assert.deepEqual(await projected('a', 'b'), ['k4', 'k2', 'k3', 'k1']);
    assert.deepEqual(await projected('b', 'a'), ['k4', 'k2', 'k3', 'k1']);
  });

  test('negative ids are stored, read and ordered numerically before positive ones', async () => {
    const k = (id: string) => ({ path: [{ kind: 'Neg', id }] });
    await t.client.commit({ projectId: P, mode: 'NON_TRANSACTIONAL', mutations: ['3', '-5', '-9223372036854775808'].map((id) => ({ upsert: { key: k(id), properties: {} } })) } as never, NO_RETRY);
    const [r] = await t.client.lookup({ projectId: P, keys: [k('-5')] }, NO_RETRY);
    assert.equal(String(r.found![0]!.entity!.key!.path![0]!.id), '-5');
    const [q] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'Neg' }] } } as never, NO_RETRY);
    assert.deepEqual(q.batch!.entityResults!.map((e: Json) => String(e.entity.key.path[0].id)), ['-9223372036854775808', '-5', '3']);
    const [below] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'Neg' }], filter: filter('__key__', 'LESS_THAN', { keyValue: k('1') }) } } as never, NO_RETRY);
    assert.deepEqual(below.batch!.entityResults!.map((e: Json) => String(e.entity.key.path[0].id)), ['-9223372036854775808', '-5']);
    // ReserveIds of a negative id: legacy and ours accept it (it reserves nothing allocation could hand out); the Firestore emulator fails with UNKNOWN.
    const reserved = await t.client.reserveIds({ projectId: P, keys: [k('-7')] }, NO_RETRY).then(() => 0, (e: { code: number }) => e.code);
    assert.equal(reserved, backendName() === 'firestore' ? 2 : 0);
  });

  test('an unindexed string or blob over 1,048,487 bytes is refused (legacy takes a string)', async () => {
    const write = (v: Json) => t.client.commit({ projectId: P, mode: 'NON_TRANSACTIONAL', mutations: [put('big', 'Big', { v })] } as never, NO_RETRY).then(() => 'ok', (e: { code: number; details: string }) => e);
    assert.equal(await write({ stringValue: 'a'.repeat(1_048_487), excludeFromIndexes: true }), 'ok');
    const cases: [Json, boolean][] = [
      [{ stringValue: 'a'.repeat(1_048_488), excludeFromIndexes: true }, backendName() !== 'legacy'],
      [{ blobValue: Buffer.alloc(1_048_488), excludeFromIndexes: true }, true],
      [{ arrayValue: { values: [{ stringValue: 'a'.repeat(1_048_488), excludeFromIndexes: true }] } }, backendName() !== 'legacy'],
    ];
    for (const [v, refused] of cases) {
      const r = await write(v);
      if (!refused) assert.equal(r, 'ok');
      else {
        assert.notEqual(r, 'ok');
        assert.equal((r as { code: number }).code, 3);
        assert.match((r as { details: string }).details, /^The value of property "v" is longer than 1048487 bytes\./);
      }
    }
  });

  test('Lookup answers 14 entities of 1 MB whole, none deferred', async () => {
    const keys = Array.from({ length: 14 }, (_, i) => ({ path: [{ kind: 'Mb', name: `m${i}` }] }));
    // One per commit: Google's emulators refuse requests over 4 MiB.
    for (const key of keys) await t.client.commit({ projectId: P, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key, properties: { v: { stringValue: 'x'.repeat(1_000_000), excludeFromIndexes: true } } } }] } as never, NO_RETRY);
    const [r] = await t.client.lookup({ projectId: P, keys }, NO_RETRY);
    assert.equal(r.found!.length, 14);
    assert.equal((r.deferred ?? []).length, 0);
    await t.client.commit({ projectId: P, mode: 'NON_TRANSACTIONAL', mutations: keys.map((key) => ({ delete: key })) } as never, NO_RETRY);
  });

  test('a query bounded by an end cursor says NO_MORE_RESULTS when it gets there (legacy: MORE_RESULTS_AFTER_LIMIT)', async () => {
    const expected = backendName() === 'legacy' ? 'MORE_RESULTS_AFTER_LIMIT' : 'NO_MORE_RESULTS';
    const [first] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'C' }], limit: { value: 2 } } } as never, NO_RETRY);
    const endCursor = first.batch!.endCursor;
    for (const extra of [{}, { limit: { value: 2 } }, { limit: { value: 5 } }, { offset: 1, limit: { value: 1 } }]) {
      const [r] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'C' }], endCursor, ...extra } } as never, NO_RETRY);
      assert.equal(r.batch!.moreResults, expected, JSON.stringify(extra));
    }
    const [short] = await t.client.runQuery({ projectId: P, query: { kind: [{ name: 'C' }], endCursor, limit: { value: 1 } } } as never, NO_RETRY);
    assert.equal(short.batch!.moreResults, 'MORE_RESULTS_AFTER_LIMIT');
  });

  test('refusals in Google\'s words (both emulators agree), our context after them', async () => {
    const rejects = (p: Promise<unknown>) => p.then(() => assert.fail('accepted'), (e: { code: number; details: string }) => e);
    const commit = (m: Json) => rejects(t.client.commit({ projectId: P, mode: 'NON_TRANSACTIONAL', mutations: [m] } as never, NO_RETRY));
    const query = (q: Json) => rejects(t.client.runQuery({ projectId: P, query: q } as never, NO_RETRY));
    const cases: [Promise<{ code: number; details: string }>, RegExp][] = [
      [query({ kind: [{ name: 'C' }], limit: { value: -1 } }), /^Limit must be non-negative\./],
      [query({ kind: [{ name: 'C' }], offset: -1 }), /^Offset must be non-negative\./],
      [query({ kind: [{ name: 'C' }, { name: 'D' }] }), /^multiple kinds not supported/],
      [query({ kind: [{ name: 'C' }], startCursor: Buffer.from('zzz') }), /^Error parsing protocol message/],
      [rejects(t.client.lookup({ projectId: P, keys: [{ path: [{ kind: 'G' }] }] }, NO_RETRY)), /^Key path element must not be incomplete: \[G: \]/],
      [rejects(t.client.lookup({ projectId: P, keys: [{ path: Array.from({ length: 101 }, (_, i) => ({ kind: 'K', name: `n${i}` })) }] }, NO_RETRY)), /^Key path is too long\. Cannot exceed 100 elements\./],
      [rejects(t.client.lookup({ projectId: P, keys: [{ path: [{ kind: 'K', name: 'a'.repeat(1501) }] }] }, NO_RETRY)), /^The key path element name is longer than 1500 bytes\./],
      [rejects(t.client.allocateIds({ projectId: P, keys: [{ path: [{ kind: 'K', id: '5' }] }] }, NO_RETRY)), /^Key path element must not be complete: \[K: 5\]/],
      [commit(put('a', '__x__', {})), /^The kind "__x__" is reserved\./],
      [commit(put('__a__', 'X', {})), /^The key path element name "__a__" is reserved\./],
      [commit(put('a', '', {})), /^The kind is the empty string\./],
      [commit(put('a', 'X', { s: { stringValue: 'a'.repeat(1501) } })), /^The value of property "s" is longer than 1500 bytes\./],
      [rejects(t.client.commit({ projectId: P, mode: 'TRANSACTIONAL', transaction: Buffer.from('nope'), mutations: [] } as never, NO_RETRY)), /^Invalid transaction\./],
      [rejects(t.client.rollback({ projectId: P, transaction: Buffer.from('nope') }, NO_RETRY)), /^Invalid transaction\./],
    ];
    for (const [p, message] of cases) {
      const err = await p;
      assert.equal(err.code, 3, String(message));
      assert.match(err.details, message);
    }
  });
});
