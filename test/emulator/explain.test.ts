/**
 * Query explain (explain_options) on dspipe's emulator, read through the
 * official high-level client as an application reads it (`info.explainMetrics`).
 * The shape follows Datastore's "Query Explain analyze report reference"
 * (https://cloud.google.com/datastore/docs/query-explain-analyze-report-reference):
 * indexes_used entries {query_scope, properties: "(age ASC, __name__ ASC)"};
 * with analyze, results_returned, execution_duration, read_operations and
 * debug_stats {index_entries_scanned, documents_scanned, billing_details}.
 * Without analyze the query is planned, not run: no results come back.
 *
 * None of Google's emulators implements explain, so this runs on dspipe's only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { and, PropertyFilter } from '@google-cloud/datastore';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { parseIndexYaml } from '../../src/format/index-yaml.js';

interface Metrics {
  planSummary?: { indexesUsed?: Record<string, unknown>[] };
  executionStats?: { resultsReturned?: number; executionDuration?: unknown; readOperations?: number; debugStats?: Record<string, unknown> };
}

describe('query explain through the official client', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator({ indexes: { require: parseIndexYaml('indexes:\n- kind: Task\n  properties:\n  - name: done\n  - name: priority\n    direction: desc\n') } });
    const ds = t.datastore;
    await ds.save(
      Array.from({ length: 12 }, (_, i) => ({ key: ds.key(['Task', `t${i}`]), data: { done: i % 3 === 0, priority: i, category: i % 2 ? 'work' : 'home' } })),
    );
  });
  after(() => t.close());

  it('without analyze: the plan summary names the composite index, and nothing is read', async () => {
    const q = t.datastore.createQuery('Task').filter(new PropertyFilter('done', '=', false)).order('priority', { descending: true });
    const [entities, info] = await t.datastore.runQuery(q, { explainOptions: { analyze: false } });
    assert.deepEqual(entities, []);
    const m = (info as { explainMetrics?: Metrics }).explainMetrics!;
    assert.deepEqual(m.planSummary?.indexesUsed, [{ query_scope: 'Collection', properties: '(done ASC, priority DESC, __name__ ASC)' }]);
    assert.equal(m.executionStats, undefined);
  });

  it('with analyze: the results, and execution stats counting them', async () => {
    const q = t.datastore.createQuery('Task').filter(new PropertyFilter('done', '=', false)).order('priority', { descending: true });
    const [entities, info] = await t.datastore.runQuery(q, { explainOptions: { analyze: true } });
    assert.equal(entities.length, 8);
    const m = (info as { explainMetrics?: Metrics }).explainMetrics!;
    assert.deepEqual(m.planSummary?.indexesUsed, [{ query_scope: 'Collection', properties: '(done ASC, priority DESC, __name__ ASC)' }]);
    assert.equal(m.executionStats?.resultsReturned, 8);
    assert.equal(m.executionStats?.readOperations, 8);
    const debug = m.executionStats?.debugStats as { index_entries_scanned?: string; documents_scanned?: string; billing_details?: Record<string, string> };
    assert.equal(debug.documents_scanned, '8');
    assert.equal(debug.index_entries_scanned, '8');
    assert.equal(debug.billing_details?.documents_billable, '8');
    assert.ok(m.executionStats?.executionDuration !== undefined);
  });

  it('built-in indexes: one per equality property when they merge, the key index for a plain scan', async () => {
    const q = t.datastore.createQuery('Task').filter(and([new PropertyFilter('done', '=', true), new PropertyFilter('category', '=', 'home')]));
    const [, info] = await t.datastore.runQuery(q, { explainOptions: {} });
    assert.deepEqual((info as { explainMetrics?: Metrics }).explainMetrics?.planSummary?.indexesUsed, [
      { query_scope: 'Collection', properties: '(done ASC, __name__ ASC)' },
      { query_scope: 'Collection', properties: '(category ASC, __name__ ASC)' },
    ]);
    const [, plain] = await t.datastore.runQuery(t.datastore.createQuery('Task').select('__key__'), { explainOptions: { analyze: true } });
    const m = (plain as { explainMetrics?: Metrics }).explainMetrics!;
    assert.deepEqual(m.planSummary?.indexesUsed, [{ query_scope: 'Collection', properties: '(__name__ ASC)' }]);
    assert.equal(m.executionStats?.resultsReturned, 12);
    assert.equal(m.executionStats?.readOperations, 1, 'keys-only: one read per 1,000 index entries');
  });

  it('explain of a query that needs a missing index fails like the query', async () => {
    const q = t.datastore.createQuery('Task').filter(new PropertyFilter('category', '=', 'work')).order('priority');
    await assert.rejects(t.datastore.runQuery(q, { explainOptions: { analyze: false } }), (err: { code?: number }) => err.code === 9);
  });

  it('aggregation queries explain too', async () => {
    const agg = t.datastore.createAggregationQuery(t.datastore.createQuery('Task').filter(new PropertyFilter('done', '=', true))).count('n');
    const [results, info] = await t.datastore.runAggregationQuery(agg, { explainOptions: { analyze: true } });
    assert.deepEqual(results, [{ n: 4 }]);
    const m = (info as { explainMetrics?: Metrics }).explainMetrics!;
    assert.deepEqual(m.planSummary?.indexesUsed, [{ query_scope: 'Collection', properties: '(done ASC, __name__ ASC)' }]);
    assert.equal(m.executionStats?.resultsReturned, 1);
  });
});
