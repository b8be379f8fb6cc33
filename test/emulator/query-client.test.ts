/**
 * RunQuery and RunAggregationQuery end to end: the real @google-cloud/datastore
 * clients (high-level Datastore and raw v1) against dspipe's emulator.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PropertyFilter, and as andFilter, or as orFilter } from '@google-cloud/datastore';
import type { IQuery, IRunQueryResponse } from '../../src/model/proto.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { Code, NO_RETRY, commit, entity, int, key, rejectsWith, str } from './conformance.js';

async function raw(t: TestEmulator, query: IQuery, extra: Record<string, unknown> = {}): Promise<IRunQueryResponse> {
  const [response] = await t.client.runQuery({ projectId: t.connection.projectId, query, ...extra }, NO_RETRY);
  return response;
}

const keyOrder = { property: { name: '__key__' }, direction: 'ASCENDING' as const };
const keysOnly = [{ property: { name: '__key__' } }];

function idsOf(r: IRunQueryResponse): number[] {
  return r.batch!.entityResults!.map((e) => Number(e.entity!.key!.path!.at(-1)!.id));
}

describe('emulator RunQuery through the real clients', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator();
    const mutations = [];
    for (let i = 1; i <= 700; i++) {
      mutations.push({ upsert: entity(key('Row', i), { n: int(i % 10), s: str(`s${i}`), big: str('x'.repeat(10), true) }) });
    }
    await commit(t, mutations);
    await commit(t, [
      { upsert: entity({ ...key('Item', 'a'), partitionId: { namespaceId: 'shop' } }, { price: int(5) }) },
      { upsert: entity({ ...key('Order', 1), partitionId: { namespaceId: 'shop' } }, { total: int(5) }) },
    ]);
  });
  after(() => t.close());

  it('pages a kind in key order in batches of 300 with end cursors, as a dump does (raw client)', async () => {
    const seen: number[] = [];
    const shapes: string[] = [];
    let startCursor: Buffer | undefined;
    for (;;) {
      const r = await raw(t, { kind: [{ name: 'Row' }], order: [keyOrder], ...(startCursor ? { startCursor } : {}) });
      seen.push(...idsOf(r));
      shapes.push(`${r.batch!.entityResults!.length}:${String(r.batch!.moreResults)}`);
      assert.ok(r.batch!.readTime, 'the server stamps a read time');
      if (r.batch!.moreResults !== 'NOT_FINISHED') break;
      startCursor = r.batch!.endCursor as Buffer;
    }
    assert.deepEqual(shapes, ['300:NOT_FINISHED', '300:NOT_FINISHED', '100:NO_MORE_RESULTS']);
    assert.deepEqual(seen, Array.from({ length: 700 }, (_, i) => i + 1));
  });

  it('serves keys-only __key__ range queries with limits, and entity results carry version, times and cursor', async () => {
    const filter = {
      compositeFilter: {
        op: 'AND' as const,
        filters: [
          { propertyFilter: { property: { name: '__key__' }, op: 'GREATER_THAN_OR_EQUAL' as const, value: { keyValue: key('Row', 100) } } },
          { propertyFilter: { property: { name: '__key__' }, op: 'LESS_THAN' as const, value: { keyValue: key('Row', 200) } } },
        ],
      },
    };
    const r = await raw(t, { kind: [{ name: 'Row' }], projection: keysOnly, filter, limit: { value: 5 } });
    assert.equal(r.batch!.entityResultType, 'KEY_ONLY');
    assert.deepEqual(idsOf(r), [100, 101, 102, 103, 104]);
    assert.equal(r.batch!.moreResults, 'MORE_RESULTS_AFTER_LIMIT');
    const first = r.batch!.entityResults![0]!;
    assert.deepEqual(first.entity!.properties, {});
    assert.match(String(first.version), /^[1-9]\d*$/);
    assert.ok(first.createTime && first.updateTime && (first.cursor as Buffer).length > 0);
    const rest = await raw(t, { kind: [{ name: 'Row' }], projection: keysOnly, filter, startCursor: r.batch!.endCursor });
    assert.equal(rest.batch!.entityResults!.length, 95);
    assert.equal(rest.batch!.moreResults, 'NO_MORE_RESULTS');
  });

  it('resumes from a cursor whose entity was deleted since', async () => {
    const first = await raw(t, { kind: [{ name: 'Row' }], limit: { value: 3 } });
    await commit(t, [{ delete: key('Row', 3) }, { delete: key('Row', 4) }]);
    const next = await raw(t, { kind: [{ name: 'Row' }], startCursor: first.batch!.endCursor, limit: { value: 2 } });
    assert.deepEqual(idsOf(next), [5, 6]);
    await commit(t, [{ upsert: entity(key('Row', 3), { n: int(3), s: str('s3') }) }, { upsert: entity(key('Row', 4), { n: int(4), s: str('s4') }) }]);
  });

  it('runs high-level filtered, ordered queries and pages them with nextPageCursor', async () => {
    const q = t.datastore
      .createQuery('Row')
      .filter(new PropertyFilter('n', '=', 7))
      .order('s', { descending: true })
      .limit(30);
    const [page1, info1] = await t.datastore.runQuery(q);
    assert.equal(page1.length, 30);
    assert.equal(info1.moreResults, 'MORE_RESULTS_AFTER_LIMIT');
    const [page2, info2] = await t.datastore.runQuery(q.start(info1.endCursor!));
    assert.equal(page2.length, 30);
    const [page3] = await t.datastore.runQuery(q.start(info2.endCursor!));
    assert.equal(page3.length, 10);
    const all = [...page1, ...page2, ...page3].map((e) => e.s as string);
    assert.equal(new Set(all).size, 70);
    assert.deepEqual(all, [...all].sort().reverse());
    assert.ok(all.every((s) => Number(s.slice(1)) % 10 === 7));
  });

  it('auto-pages an unlimited high-level query across NOT_FINISHED batches (runQueryStream)', async () => {
    const names: string[] = [];
    for await (const e of t.datastore.createQuery('Row').filter(new PropertyFilter('n', '<', 3)).runStream()) names.push((e as { s: string }).s);
    assert.equal(names.length, 210);
  });

  it('combines AND/OR/IN/!= filters and never matches unindexed properties', async () => {
    const [rows] = await t.datastore.runQuery(
      t.datastore
        .createQuery('Row')
        .filter(orFilter([new PropertyFilter('s', '=', 's15'), andFilter([new PropertyFilter('n', 'IN', [1, 2]), new PropertyFilter('s', '<', 's13')])])),
    );
    assert.deepEqual(rows.map((e) => e.s).sort(), ['s1', 's101', 's102', 's11', 's111', 's112', 's12', 's121', 's122', 's15'].sort());
    const [unindexed] = await t.datastore.runQuery(t.datastore.createQuery('Row').filter(new PropertyFilter('big', '=', 'x'.repeat(10))));
    assert.equal(unindexed.length, 0);
    const [ne] = await t.datastore.runQuery(t.datastore.createQuery('Row').filter(new PropertyFilter('n', '!=', 0)).select('__key__'));
    assert.equal(ne.length, 630);
  });

  it('projects and de-duplicates (select + groupBy) with PROJECTION results', async () => {
    const r = await raw(t, { kind: [{ name: 'Row' }], projection: [{ property: { name: 'n' } }], distinctOn: [{ name: 'n' }] });
    assert.equal(r.batch!.entityResultType, 'PROJECTION');
    assert.deepEqual(r.batch!.entityResults!.map((e) => e.entity!.properties!.n!.integerValue), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const [groups] = await t.datastore.runQuery(t.datastore.createQuery('Row').select('n').groupBy('n').filter(new PropertyFilter('n', '>=', 8)));
    assert.deepEqual(groups.map((e) => e.n), [8, 9]);
  });

  it('answers __namespace__, __kind__ and __property__ metadata queries', async () => {
    const ns = await raw(t, { kind: [{ name: '__namespace__' }], projection: keysOnly });
    assert.deepEqual(
      ns.batch!.entityResults!.map((e) => e.entity!.key!.path![0]!.id ?? e.entity!.key!.path![0]!.name),
      ['1', 'shop'],
    );
    const kinds = await raw(t, { kind: [{ name: '__kind__' }] }, { partitionId: { namespaceId: 'shop' } });
    assert.deepEqual(kinds.batch!.entityResults!.map((e) => e.entity!.key!.path![0]!.name), ['Item', 'Order']);
    const props = await raw(t, {
      kind: [{ name: '__property__' }],
      filter: { propertyFilter: { property: { name: '__key__' }, op: 'HAS_ANCESTOR', value: { keyValue: key('__kind__', 'Row') } } },
    });
    assert.deepEqual(
      props.batch!.entityResults!.map((e) => [e.entity!.key!.path![1]!.name, e.entity!.properties!.property_representation!.arrayValue!.values!.map((v) => v.stringValue)]),
      [['n', ['INT64']], ['s', ['STRING']]],
    );
  });

  it('samples split points with __scatter__ in a keys-only query', async () => {
    const q = { kind: [{ name: 'Row' }], projection: keysOnly, order: [{ property: { name: '__scatter__' }, direction: 'ASCENDING' as const }] };
    const a = await raw(t, q);
    const b = await raw(t, q);
    const n = a.batch!.entityResults!.length;
    assert.ok(n >= 1 && n <= 20, `sampled ${n} of 700`);
    assert.deepEqual(idsOf(a), idsOf(b));
    for (const e of a.batch!.entityResults!) assert.deepEqual(e.entity!.properties, {});
  });

  it('counts, sums and averages with the high-level aggregation API', async () => {
    const agg = t.datastore
      .createAggregationQuery(t.datastore.createQuery('Row').filter(new PropertyFilter('n', '>=', 5)))
      .count('c')
      .sum('n', 's')
      .average('n', 'a');
    const [[result]] = await t.datastore.runAggregationQuery(agg);
    assert.deepEqual(result, { c: 350, s: 2450, a: 7 });
  });

  it('filters on key-valued properties, ancestors and kindless key ranges with the high-level client', async () => {
    const ds = t.datastore;
    const owner = ds.key(['Person', 'ann']);
    await ds.save([
      { key: owner, data: { name: 'Ann' } },
      { key: ds.key(['Person', 'ann', 'Pet', 1]), data: { owner, kind: 'cat' } },
      { key: ds.key(['Person', 'ann', 'Pet', 2]), data: { owner: ds.key(['Person', 'bob']), kind: 'dog' } },
      { key: ds.key(['Person', 'bob', 'Pet', 3]), data: { owner, kind: 'fish' } },
    ]);
    const [owned] = await ds.runQuery(ds.createQuery('Pet').filter(new PropertyFilter('owner', '=', owner)));
    assert.deepEqual(owned.map((e) => e.kind), ['cat', 'fish']);
    const [family] = await ds.runQuery(ds.createQuery('Pet').hasAncestor(owner));
    assert.deepEqual(family.map((e) => e.kind), ['cat', 'dog']);
    const kindless = await raw(t, {
      filter: { propertyFilter: { property: { name: '__key__' }, op: 'HAS_ANCESTOR', value: { keyValue: key('Person', 'ann') } } },
    });
    assert.deepEqual(kindless.batch!.entityResults!.map((e) => e.entity!.key!.path!.map((p) => p.kind).join('/')), ['Person', 'Person/Pet', 'Person/Pet']);
  });

  it('lets the high-level client page past 300 with a limit and past 1000 offset rows', async () => {
    const [limited] = await t.datastore.runQuery(t.datastore.createQuery('Row').limit(650));
    assert.equal(limited.length, 650);
    const mutations = [];
    for (let i = 1; i <= 1200; i++) mutations.push({ upsert: entity(key('Many', i), { i: int(i) }) });
    await commit(t, mutations);
    const [tail, info] = await t.datastore.runQuery(t.datastore.createQuery('Many').offset(1150).limit(10));
    assert.deepEqual(tail.map((e) => e.i), [1151, 1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160]);
    assert.equal(info.moreResults, 'MORE_RESULTS_AFTER_LIMIT');
  });

  it('queries namespaces and named databases independently', async () => {
    const shop = await raw(t, { kind: [{ name: 'Item' }] }, { partitionId: { namespaceId: 'shop' } });
    assert.equal(shop.batch!.entityResults!.length, 1);
    assert.equal(shop.batch!.entityResults![0]!.entity!.key!.partitionId!.namespaceId, 'shop');
    const none = await raw(t, { kind: [{ name: 'Item' }] });
    assert.equal(none.batch!.entityResults!.length, 0);
    await t.client.commit({ projectId: t.connection.projectId, databaseId: 'other', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: entity({ ...key('Row', 1), partitionId: { databaseId: 'other' } }, {}) }] }, NO_RETRY);
    const other = await raw(t, { kind: [{ name: 'Row' }] }, { databaseId: 'other', partitionId: { databaseId: 'other' } });
    assert.equal(other.batch!.entityResults!.length, 1);
    const kinds = await raw(t, { kind: [{ name: '__kind__' }] }, { databaseId: 'other', partitionId: { databaseId: 'other' } });
    assert.deepEqual(kinds.batch!.entityResults!.map((e) => e.entity!.key!.path![0]!.name), ['Row']);
  });

  it('reports bad queries as INVALID_ARGUMENT', async () => {
    const first = await raw(t, { kind: [{ name: 'Row' }], limit: { value: 1 } });
    await rejectsWith(raw(t, { kind: [{ name: 'Item' }], startCursor: first.batch!.endCursor }), Code.INVALID_ARGUMENT, /cursor/i);
    await rejectsWith(
      raw(t, { kind: [{ name: 'Row' }], filter: { propertyFilter: { property: { name: '__key__' }, op: 'HAS_ANCESTOR', value: { keyValue: { ...key('Row', 1), partitionId: { namespaceId: 'shop' } } } } } }),
      Code.INVALID_ARGUMENT,
      /partition/,
    );
    await rejectsWith(
      raw(t, { kind: [], filter: { propertyFilter: { property: { name: 'n' }, op: 'EQUAL', value: int(1) } } }),
      Code.INVALID_ARGUMENT,
      /Kindless/,
    );
    await rejectsWith(
      t.client.runQuery({ projectId: t.connection.projectId, gqlQuery: { queryString: "SELECT * FROM Row WHERE s = 'x'" } }, NO_RETRY),
      Code.INVALID_ARGUMENT,
      /literals/,
    );
  });
});
