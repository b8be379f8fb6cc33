/**
 * RunAggregationQuery where dspipe's emulator used to differ from Google's
 * (issue 13): SUM and AVG read the aggregated property's index, so a limit
 * takes its lowest values and an array counts once per value; the limits on
 * what may be aggregated, in Google's words. The legacy emulator has no
 * RunAggregationQuery (BACKENDS.md difference 5), so these run on dspipe's
 * and the Firestore emulator (seen 2026-12-02, cloud_firestore_emulator 528);
 * the documentation is silent on the row order.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backendName, describeBackend, startTestBackend, type TestBackend } from '../helpers/backend.js';

const NO_RETRY = { retry: null } as unknown as Record<string, never>;
type Json = Record<string, any>;
const skip = backendName() === 'legacy' ? 'the legacy emulator has no RunAggregationQuery' : false;

let t: TestBackend;
let P: string;
const I = (n: number) => ({ integerValue: String(n) });
const put = (name: string, properties: Json) => ({ upsert: { key: { path: [{ kind: 'G', name }] }, properties } });

async function agg(aggregations: Json[], query: Json = {}): Promise<Record<string, unknown>> {
  const [r] = await t.client.runAggregationQuery({ projectId: P, aggregationQuery: { nestedQuery: { kind: [{ name: 'G' }], ...query }, aggregations } } as never, NO_RETRY);
  const props = r.batch!.aggregationResults![0]!.aggregateProperties as Record<string, Json>;
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.valueType === 'integerValue' ? Number(v.integerValue) : v[v.valueType]]));
}
async function refusal(aggregations: Json[], kind = 'G'): Promise<{ code: number; details: string }> {
  return t.client.runAggregationQuery({ projectId: P, aggregationQuery: { nestedQuery: { kind: [{ name: kind }] }, aggregations } } as never, NO_RETRY).then(
    () => assert.fail('the aggregation was accepted'),
    (err: { code: number; details: string }) => err,
  );
}
const sum = (name: string, alias?: string) => ({ sum: { property: { name } }, ...(alias && { alias }) });
const avg = (name: string, alias?: string) => ({ avg: { property: { name } }, ...(alias && { alias }) });
const count = (alias?: string, upTo?: number) => ({ count: upTo === undefined ? {} : { upTo: { value: upTo } }, ...(alias && { alias }) });

describe(`aggregations as Google answers them ${describeBackend()}`, { skip }, () => {
  before(async () => {
    t = await startTestBackend();
    P = t.connection.projectId;
    await t.client.commit({
      projectId: P,
      mode: 'NON_TRANSACTIONAL',
      mutations: [
        put('a', { n: I(50), d: { doubleValue: 1.5 } }),
        put('b', { n: I(10) }),
        put('c', { n: I(30), d: { doubleValue: 2.5 } }),
        put('d', { n: I(20) }),
        put('e', { other: I(1) }),
        put('f', { n: { stringValue: 'not a number' } }),
        put('g', { n: { arrayValue: { values: [I(1), I(2)] } } }),
        put('h', { n: { doubleValue: 5.5 } }),
        put('u', { n: { integerValue: '7', excludeFromIndexes: true } }),
      ],
    } as never, NO_RETRY);
  });
  after(() => t?.close());

  test('SUM and AVG read every indexed value of the property, array elements included; unindexed values do not count', async () => {
    // 50 + 10 + 30 + 20 + 1 + 2 + 5.5; a COUNT beside them counts the 8 index rows of n (the string too).
    assert.deepEqual(await agg([count('c'), sum('n', 's'), avg('n', 'a')]), { c: 8, s: 118.5, a: 118.5 / 7 });
    // Alone, a COUNT counts entities.
    assert.deepEqual(await agg([count('c')]), { c: 9 });
  });

  test('a limit takes the lowest values of the aggregated property, integers before doubles, not the first keys', async () => {
    assert.deepEqual(await agg([sum('n', 's')], { limit: { value: 2 } }), { s: 3 }); // g's 1 and 2
    assert.deepEqual(await agg([avg('n', 'a')], { limit: { value: 2 } }), { a: 1.5 });
    assert.deepEqual(await agg([sum('n', 's'), count('c')], { limit: { value: 3 } }), { s: 13, c: 3 }); // 1 + 2 + 10
    assert.deepEqual(await agg([sum('n', 's')], { offset: 1, limit: { value: 2 } }), { s: 12 }); // 2 + 10
    // Two properties: only entities holding both are rows.
    assert.deepEqual(await agg([sum('n', 's'), sum('d', 'sd')], { limit: { value: 2 } }), { s: 80, sd: 4 });
    // The query's own order comes first.
    assert.deepEqual(await agg([sum('n', 's')], { order: [{ property: { name: '__key__' } }], limit: { value: 2 } }), { s: 60 }); // a, b
  });

  test('SUM and AVG of __key__ are refused', async () => {
    for (const a of [sum('__key__'), avg('__key__')]) {
      const err = await refusal([a]);
      assert.equal(err.code, 3);
      assert.match(err.details, /^Aggregations are not supported for the property: __key__/);
    }
  });

  test('more than 5 aggregations are refused (the Firestore emulator: UNKNOWN with no message)', async () => {
    const err = await refusal(['a', 'b', 'c', 'd', 'e', 'f'].map((alias) => count(alias)));
    if (backendName() === 'firestore') assert.equal(err.code, 2);
    else {
      assert.equal(err.code, 3);
      assert.match(err.details, /at most 5 aggregations/);
    }
  });

  test('COUNT up_to 0 counts 0; a negative up_to is refused', async () => {
    assert.deepEqual(await agg([count('c', 0)]), { c: 0 });
    assert.deepEqual(await agg([count('c', 2)]), { c: 2 });
    const err = await refusal([count('c', -1)]);
    assert.equal(err.code, 3);
    assert.match(err.details, /^The `up_to` value in a COUNT aggregation must be greater than or equal to zero\./);
  });

  test('aggregations over reserved kinds are refused', async () => {
    for (const kind of ['__kind__', '__namespace__', '__property__', '__Stat_Total__']) {
      const err = await refusal([count()], kind);
      assert.equal(err.code, 3, kind);
      assert.match(err.details, /^Aggregation queries on reserved kinds are not supported\./, kind);
    }
  });

  test('aliases and empty aggregations are refused in Google\'s words', async () => {
    assert.match((await refusal([count('x'), count('x')])).details, /^Aggregation aliases contain duplicate alias: x\./);
    assert.match((await refusal([count('__x__')])).details, /^The property\.name "__x__" is reserved\./);
    assert.match((await refusal([])).details, /^Aggregations can not be empty\./);
    assert.match((await refusal([{ sum: {} }])).details, /^Empty aggregation field\./);
  });
});
