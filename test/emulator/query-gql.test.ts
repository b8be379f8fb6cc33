import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IValue } from '../../src/model/proto.js';
import { parseGql, QueryError, runAggregationQuery, runQuery } from '../../src/emulator/query/index.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, commit, entity, int, key, rejectsWith, str } from './conformance.js';
import { entity as stored, MemSnapshot, PARTITION, v } from './query-fixture.js';

const lit = (queryString: string, extra: Record<string, unknown> = {}) => ({ queryString, allowLiterals: true, ...extra }) as never;

function parsed(queryString: string, extra: Record<string, unknown> = {}) {
  const r = parseGql(lit(queryString, extra), PARTITION);
  assert.equal(r.type, 'query');
  return (r as unknown as { query: Record<string, unknown> }).query;
}

describe('GQL parsing', () => {
  it('compiles select lists, DISTINCT, FROM, ORDER BY, LIMIT and OFFSET', () => {
    const q = parsed('select a, `b c`, d.e FROM `My Kind` ORDER BY a DESC, __key__ LIMIT 10 OFFSET 5');
    assert.deepEqual(q.projection, [{ property: { name: 'a' } }, { property: { name: 'b c' } }, { property: { name: 'd.e' } }]);
    assert.deepEqual(q.kind, [{ name: 'My Kind' }]);
    assert.deepEqual(q.order, [
      { property: { name: 'a' }, direction: 'DESCENDING' },
      { property: { name: '__key__' }, direction: 'ASCENDING' },
    ]);
    assert.deepEqual(q.limit, { value: 10 });
    assert.equal(q.offset, 5);
    const d = parsed('SELECT DISTINCT ON (a) * FROM K');
    assert.deepEqual(d.distinctOn, [{ name: 'a' }]);
    assert.deepEqual(d.projection, []);
    const dd = parsed('SELECT DISTINCT a, b FROM K');
    assert.deepEqual(dd.distinctOn, [{ name: 'a' }, { name: 'b' }]);
    assert.deepEqual(parsed('SELECT __key__').kind, []);
  });

  it('compiles conditions with AND, OR, parentheses, value-first forms and every literal', () => {
    const q = parsed(
      "SELECT * FROM K WHERE (a = 'it''s' OR b IS NULL) AND 5 < c AND d IN ARRAY(1, 2.5, TRUE) AND e NOT IN ARRAY(NULL) " +
        "AND __key__ HAS ANCESTOR KEY(NAMESPACE('n'), 'P', 1, 'C', 'x') AND f CONTAINS -3 AND g >= DATETIME('2020-01-02T03:04:05.5+01:00') AND h = BLOB('AQI=')",
    );
    const f = q.filter as { compositeFilter: { op: string; filters: { propertyFilter?: { property: { name: string }; op: string; value: IValue }; compositeFilter?: unknown }[] } };
    assert.equal(f.compositeFilter.op, 'AND');
    const [orPart, c, d, e, anc, contains, g, h] = f.compositeFilter.filters;
    assert.equal((orPart!.compositeFilter as { op: string }).op, 'OR');
    assert.deepEqual(c!.propertyFilter!.op, 'GREATER_THAN', 'value-first comparison flips');
    assert.equal(d!.propertyFilter!.value.arrayValue!.values!.length, 3);
    assert.equal(e!.propertyFilter!.op, 'NOT_IN');
    assert.deepEqual(anc!.propertyFilter!.value.keyValue, {
      partitionId: { projectId: 'p', databaseId: '', namespaceId: 'n' },
      path: [{ kind: 'P', id: '1', idType: 'id' }, { kind: 'C', name: 'x', idType: 'name' }],
    });
    assert.deepEqual(contains!.propertyFilter!.value, { integerValue: '-3', valueType: 'integerValue' });
    assert.deepEqual(g!.propertyFilter!.value.timestampValue, { seconds: String(Date.UTC(2020, 0, 2, 2, 4, 5) / 1000), nanos: 500000000 });
    assert.deepEqual([...(h!.propertyFilter!.value.blobValue as Buffer)], [1, 2]);
  });

  it('binds named and positional values and cursors into LIMIT and OFFSET', () => {
    const cursor = Buffer.from([1, 2, 3]);
    const q = parseGql(
      {
        queryString: 'SELECT * FROM K WHERE a = @a AND b > @1 LIMIT FIRST(@c, 3) OFFSET @c + @2',
        allowLiterals: false,
        namedBindings: { a: { value: { stringValue: 'x' } }, c: { cursor } },
        positionalBindings: [{ value: { integerValue: '7' } }, { value: { integerValue: '4' } }],
      } as never,
      PARTITION,
    );
    const query = (q as unknown as { query: Record<string, unknown> }).query;
    assert.deepEqual(query.endCursor, cursor);
    assert.deepEqual(query.startCursor, cursor);
    assert.deepEqual(query.limit, { value: 3 });
    assert.equal(query.offset, 4);
  });

  it('compiles both aggregation forms', () => {
    const a = parseGql(lit('SELECT COUNT(*) AS n, SUM(x), AVG(y) AS m FROM K WHERE x > 1'), PARTITION);
    assert.equal(a.type, 'aggregation');
    const agg = (a as { aggregationQuery: { aggregations: unknown[]; nestedQuery: { kind: unknown } } }).aggregationQuery;
    assert.deepEqual(agg.aggregations, [
      { operator: 'count', count: {}, alias: 'n' },
      { operator: 'sum', sum: { property: { name: 'x' } } },
      { operator: 'avg', avg: { property: { name: 'y' } }, alias: 'm' },
    ]);
    assert.deepEqual(agg.nestedQuery.kind, [{ name: 'K' }]);
    const b = parseGql(lit('AGGREGATE COUNT_UP_TO(5) OVER (SELECT * FROM K LIMIT 3)'), PARTITION);
    const bq = (b as { aggregationQuery: { aggregations: unknown[]; nestedQuery: { limit: unknown } } }).aggregationQuery;
    assert.deepEqual(bq.aggregations, [{ operator: 'count', count: { upTo: { value: '5' } } }]);
    assert.deepEqual(bq.nestedQuery.limit, { value: 3 });
  });

  it('refuses literals without allow_literals, missing or unused bindings, and syntax errors, as INVALID_ARGUMENT', () => {
    const bad = (gql: object, re: RegExp) =>
      assert.throws(() => parseGql(gql as never, PARTITION), (e: unknown) => e instanceof QueryError && e.code === 3 && re.test(e.details));
    bad({ queryString: "SELECT * FROM K WHERE a = 'x'" }, /literals/);
    bad({ queryString: 'SELECT * FROM K WHERE a = @missing' }, /@missing/);
    bad({ queryString: 'SELECT * FROM K WHERE a = @1', positionalBindings: [{ value: { integerValue: '1' } }, { value: { integerValue: '2' } }] }, /@2 is not used/);
    bad(lit('SELECT * FROM K WHERE'), /syntax error/);
    bad(lit('SELECT * FROM K LIMIT 5 garbage'), /unexpected text/);
    bad(lit("SELECT * FROM K WHERE a = 'open"), /unterminated/);
  });

  it('runs through the engine and echoes the parsed query', () => {
    const snap = new MemSnapshot([stored(['K', 1], { a: v.int(1) }), stored(['K', 2], { a: v.int(2) }), stored(['K', 3], { a: v.int(3) })]);
    const r = runQuery(snap, PARTITION, { gqlQuery: lit('SELECT * FROM K WHERE a >= 2 ORDER BY a DESC') });
    assert.deepEqual(r.batch.entityResults!.map((e) => e.entity!.properties!.a!.integerValue), ['3', '2']);
    assert.deepEqual(r.query.kind, [{ name: 'K' }]);
    const c = runAggregationQuery(snap, PARTITION, { gqlQuery: lit('SELECT COUNT(*) AS n FROM K WHERE a < 3') });
    assert.deepEqual(c.batch.aggregationResults![0]!.aggregateProperties, { n: v.int(2) });
    assert.throws(() => runQuery(snap, PARTITION, { gqlQuery: lit('SELECT COUNT(*) FROM K') }), QueryError);
  });
});

describe('GQL through the real client', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
    const mutations = [];
    for (let i = 1; i <= 20; i++) mutations.push({ upsert: entity(key('Task', i), { n: int(i), tag: str(i % 2 ? 'odd' : 'even') }) });
    await commit(t, mutations);
  });
  after(() => t.close());

  it('runs a GQL query with bindings and pages it with a cursor binding', async () => {
    const [first] = await t.client.runQuery(
      {
        projectId: t.connection.projectId,
        gqlQuery: { queryString: 'SELECT * FROM Task WHERE tag = @tag ORDER BY n DESC LIMIT @1', namedBindings: { tag: { value: { stringValue: 'even' } } }, positionalBindings: [{ value: { integerValue: '3' } }] },
      },
      NO_RETRY,
    );
    assert.deepEqual(first.batch!.entityResults!.map((e: { entity?: { properties?: Record<string, IValue> | null } | null }) => e.entity!.properties!.n!.integerValue), ['20', '18', '16']);
    assert.deepEqual(first.query!.kind, [{ name: 'Task' }], 'the parsed query is echoed');
    const [next] = await t.client.runQuery(
      {
        projectId: t.connection.projectId,
        gqlQuery: { queryString: 'SELECT * FROM Task WHERE tag = @tag ORDER BY n DESC OFFSET @c', namedBindings: { tag: { value: { stringValue: 'even' } }, c: { cursor: first.batch!.endCursor } } },
      },
      NO_RETRY,
    );
    assert.equal(next.batch!.entityResultType, 'FULL');
    assert.deepEqual(next.batch!.entityResults!.map((e: { entity?: { properties?: Record<string, IValue> | null } | null }) => e.entity!.properties!.n!.integerValue), ['14', '12', '10', '8', '6', '4', '2']);
  });

  it('runs GQL aggregations and reports GQL errors as INVALID_ARGUMENT', async () => {
    const [agg] = await t.client.runAggregationQuery(
      { projectId: t.connection.projectId, gqlQuery: { queryString: 'AGGREGATE COUNT(*) AS c, SUM(n) AS s OVER (SELECT * FROM Task WHERE n > 15)', allowLiterals: true } },
      NO_RETRY,
    );
    const props = agg.batch!.aggregationResults![0]!.aggregateProperties!;
    assert.equal(props.c!.integerValue, '5');
    assert.equal(props.s!.integerValue, '90');
    await rejectsWith(
      t.client.runQuery({ projectId: t.connection.projectId, gqlQuery: { queryString: 'SELECT * FROM Task WHERE n >', allowLiterals: true } }, NO_RETRY),
      Code.INVALID_ARGUMENT,
      /GQL syntax error/,
    );
  });
});
