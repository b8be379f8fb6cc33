import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IEntityResult, IQueryResultBatch, IValue } from '../../src/model/proto.js';
import { compareValues, QueryError, runAggregationQuery, runQuery } from '../../src/emulator/query/index.js';
import { and, entity, MemSnapshot, or, order, PARTITION, pf, query, v } from './query-fixture.js';

function run(snap: MemSnapshot, q: object, partition = PARTITION): IQueryResultBatch {
  return runQuery(snap, partition, { query: q as never }).batch;
}

function ids(batch: IQueryResultBatch): (string | number)[] {
  return (batch.entityResults ?? []).map((r: IEntityResult) => {
    const last = r.entity!.key!.path!.at(-1)!;
    return last.id ? Number(last.id) : last.name!;
  });
}

function fails(fn: () => unknown, code: number, re?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof QueryError, `expected QueryError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (re) assert.match(err.details, re);
    return true;
  });
}

function many(n: number, props: (i: number) => Record<string, IValue> = () => ({})): MemSnapshot {
  const list = [];
  for (let i = 1; i <= n; i++) list.push(entity(['K', i], props(i)));
  return new MemSnapshot(list);
}

describe('value order', () => {
  it('orders types as Datastore documents: null, numbers and times, bool, bytes, strings, doubles, NaN, geo, keys', () => {
    const values = [
      v.key(['A', 1]),
      v.geo(1, 2),
      v.dbl(NaN),
      v.dbl(-1.5),
      v.str('b'),
      v.blob([1]),
      v.bool(false),
      v.ts(0, 3000), // 3 µs: between integers 2 and 4
      v.int(4),
      v.int(2),
      v.nul(),
      v.dbl(Infinity),
    ];
    const sorted = [...values].sort(compareValues);
    assert.deepEqual(sorted, [
      v.nul(),
      v.int(2),
      v.ts(0, 3000),
      v.int(4),
      v.bool(false),
      v.blob([1]),
      v.str('b'),
      v.dbl(-1.5),
      v.dbl(Infinity),
      v.dbl(NaN),
      v.geo(1, 2),
      v.key(['A', 1]),
    ]);
  });

  it('compares within types: int64 beyond 2^53, UTF-8 strings, bytes, geo by lat then lng, keys ids before names', () => {
    assert.ok(compareValues(v.int('9007199254740993'), v.int('9007199254740992')) > 0);
    assert.ok(compareValues(v.int('-9223372036854775808'), v.int('-1')) < 0);
    assert.ok(compareValues(v.str('\uffff'), v.str('\u{10000}')) < 0);
    assert.ok(compareValues(v.blob([1, 2]), v.blob([1, 2, 0])) < 0);
    assert.ok(compareValues(v.geo(1, 9), v.geo(2, 0)) < 0);
    assert.ok(compareValues(v.key(['A', 99]), v.key(['A', 'a'])) < 0);
    assert.ok(compareValues(v.key(['A', 9]), v.key(['A', 10])) < 0);
  });
});

describe('key-ordered queries (the dump path)', () => {
  it('returns batches of at most 300 in key order and resumes from end_cursor', () => {
    const snap = many(700);
    const seen: number[] = [];
    let cursor: Buffer | undefined;
    const states: string[] = [];
    for (;;) {
      const b = run(snap, query('K', { order: [order('__key__')], ...(cursor ? { startCursor: cursor } : {}) }));
      seen.push(...(ids(b) as number[]));
      states.push(`${b.entityResults!.length}:${String(b.moreResults)}`);
      if (b.moreResults !== 'NOT_FINISHED') break;
      cursor = b.endCursor as Buffer;
    }
    assert.deepEqual(states, ['300:NOT_FINISHED', '300:NOT_FINISHED', '100:NO_MORE_RESULTS']);
    assert.deepEqual(seen, Array.from({ length: 700 }, (_, i) => i + 1));
  });

  it('says NO_MORE_RESULTS when a full batch holds the last entity', () => {
    const b = run(many(300), query('K'));
    assert.equal(b.entityResults!.length, 300);
    assert.equal(b.moreResults, 'NO_MORE_RESULTS');
  });

  it('orders ids numerically before names, ancestors before descendants', () => {
    const snap = new MemSnapshot([entity(['K', 'a']), entity(['K', 10]), entity(['K', 9]), entity(['P', 1, 'K', 1]), entity(['K', 9, 'K', 1])]);
    const b = run(snap, query('K'));
    assert.deepEqual(
      b.entityResults!.map((r) => r.entity!.key!.path!.map((e) => e.id ?? e.name).join('/')),
      ['9', '9/1', '10', 'a', '1/1'],
    );
  });

  it('applies __key__ range filters, limit (MORE_RESULTS_AFTER_LIMIT) and end cursors (NO_MORE_RESULTS there, as the Firestore emulator)', () => {
    const snap = many(50);
    const range = and(pf('__key__', 'GREATER_THAN', v.key(['K', 10])), pf('__key__', 'LESS_THAN_OR_EQUAL', v.key(['K', 20])));
    assert.deepEqual(ids(run(snap, query('K', { filter: range }))), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const ge = run(snap, query('K', { filter: and(pf('__key__', 'GREATER_THAN_OR_EQUAL', v.key(['K', 48]))) }));
    assert.deepEqual(ids(ge), [48, 49, 50]);
    const lt = run(snap, query('K', { filter: pf('__key__', 'LESS_THAN', v.key(['K', 3])) }));
    assert.deepEqual(ids(lt), [1, 2]);

    const limited = run(snap, query('K', { filter: range, limit: { value: 4 } }));
    assert.deepEqual(ids(limited), [11, 12, 13, 14]);
    assert.equal(limited.moreResults, 'MORE_RESULTS_AFTER_LIMIT');

    const end = limited.entityResults![1]!.cursor;
    const upTo = run(snap, query('K', { filter: range, endCursor: end }));
    assert.deepEqual(ids(upTo), [11, 12]);
    assert.equal(upTo.moreResults, 'NO_MORE_RESULTS');
    const between = run(snap, query('K', { filter: range, startCursor: end, endCursor: limited.endCursor }));
    assert.deepEqual(ids(between), [13, 14]);
  });

  it('keeps cursors valid after the entity they point at is deleted', () => {
    const snap = many(10);
    const first = run(snap, query('K', { limit: { value: 5 } }));
    const after = run(snap.without(['K', 5]), query('K', { startCursor: first.endCursor }));
    assert.deepEqual(ids(after), [6, 7, 8, 9, 10]);
    const per = run(snap.without(['K', 3]), query('K', { startCursor: first.entityResults![2]!.cursor }));
    assert.deepEqual(ids(per), [4, 5, 6, 7, 8, 9, 10]);
  });

  it('returns the start position as end_cursor when nothing is left', () => {
    const snap = many(3);
    const all = run(snap, query('K'));
    const rest = run(snap, query('K', { startCursor: all.endCursor }));
    assert.equal(rest.entityResults!.length, 0);
    assert.equal(rest.moreResults, 'NO_MORE_RESULTS');
    assert.deepEqual(Buffer.from(rest.endCursor as Buffer), Buffer.from(all.endCursor as Buffer));
  });

  it('serves keys-only projections with version and times', () => {
    const b = run(many(3, (i) => ({ n: v.int(i) })), query('K', { projection: [{ property: { name: '__key__' } }] }));
    assert.equal(b.entityResultType, 'KEY_ONLY');
    assert.deepEqual(b.entityResults![0]!.entity!.properties, {});
    assert.equal(b.entityResults![0]!.version, '7');
    assert.deepEqual(b.entityResults![0]!.updateTime, { seconds: '2', nanos: 0 });
    assert.ok((b.entityResults![0]!.cursor as Buffer).length > 0);
  });

  it('counts offset rows in skipped_results with a skipped_cursor', () => {
    const b = run(many(10), query('K', { offset: 3, limit: { value: 2 } }));
    assert.deepEqual(ids(b), [4, 5]);
    assert.equal(b.skippedResults, 3);
    const resumed = run(many(10), query('K', { startCursor: b.skippedCursor, limit: { value: 1 } }));
    assert.deepEqual(ids(resumed), [4]);
    const beyond = run(many(10), query('K', { offset: 20 }));
    assert.equal(beyond.skippedResults, 10);
    assert.equal(beyond.entityResults!.length, 0);
    assert.equal(beyond.moreResults, 'NO_MORE_RESULTS');
  });

  it('cuts batches of large entities at about 1 MiB and says NOT_FINISHED', () => {
    const snap = many(10, () => ({ blob: v.noindex(v.str('x'.repeat(300_000))) }));
    const first = run(snap, query('K'));
    assert.equal(first.entityResults!.length, 4);
    assert.equal(first.moreResults, 'NOT_FINISHED');
    const rest = run(snap, query('K', { startCursor: first.endCursor }));
    assert.deepEqual(ids(rest), [5, 6, 7, 8]);
    // Keys-only results are small: no byte cut.
    assert.equal(run(snap, query('K', { projection: [{ property: { name: '__key__' } }] })).entityResults!.length, 10);
  });

  it('skips at most 1000 offset rows per batch, resumable with the end cursor', () => {
    const snap = many(2600);
    const first = run(snap, query('K', { offset: 2500, limit: { value: 3 } }));
    assert.equal(first.skippedResults, 1000);
    assert.equal(first.entityResults!.length, 0);
    assert.equal(first.moreResults, 'NOT_FINISHED');
    const second = run(snap, query('K', { offset: 1500, limit: { value: 3 }, startCursor: first.endCursor }));
    assert.equal(second.skippedResults, 1000);
    const third = run(snap, query('K', { offset: 500, limit: { value: 3 }, startCursor: second.endCursor }));
    assert.equal(third.skippedResults, 500);
    assert.deepEqual(ids(third), [2501, 2502, 2503]);
    assert.equal(third.moreResults, 'MORE_RESULTS_AFTER_LIMIT');
  });

  it('refuses a cursor from a query with another kind or order', () => {
    const snap = many(5);
    const c = run(snap, query('K', { limit: { value: 1 } })).endCursor;
    fails(() => run(snap, query('K', { order: [order('n')], startCursor: c })), 3, /cursor/i);
    fails(() => run(snap, query('Other', { startCursor: c })), 3);
    fails(() => run(snap, query('K', { startCursor: Buffer.from('garbage') })), 3);
    // Unordered and ordered by __key__ ascending are the same shape.
    assert.deepEqual(ids(run(snap, query('K', { order: [order('__key__')], startCursor: c }))), [2, 3, 4, 5]);
  });
});

describe('filters', () => {
  const snap = new MemSnapshot([
    entity(['K', 1], { n: v.int(1), tags: v.arr(v.str('a'), v.str('b')), s: v.str('x') }),
    entity(['K', 2], { n: v.int(2), tags: v.arr(v.str('c')), s: v.noindex(v.str('x')) }),
    entity(['K', 3], { n: v.dbl(2.5), tags: v.arr(), hidden: v.arr(v.noindex(v.int(1)), v.int(2)) }),
    entity(['K', 4], { n: v.nul(), address: v.ent({ city: v.str('Oslo') }) }),
    entity(['K', 5], { address: v.noindex(v.ent({ city: v.str('Oslo') })), n: v.str('5') }),
    entity(['K', 6], { n: v.int(6), places: v.arr(v.ent({ city: v.str('Rome') }), v.ent({ city: v.str('Oslo') })) }),
  ]);
  const q = (filter: object, extra = {}) => ids(run(snap, query('K', { filter, ...extra })));

  it('compares with =, <, <=, >, >= across the type order', () => {
    assert.deepEqual(q(pf('n', 'EQUAL', v.int(2))), [2]);
    assert.deepEqual(q(pf('n', 'LESS_THAN', v.int(2))), [4, 1]); // null < 1, ordered by n
    assert.deepEqual(q(pf('n', 'LESS_THAN_OR_EQUAL', v.int(2))), [4, 1, 2]);
    // Strings and doubles rank above integers, so > 1 reaches them too (index order).
    assert.deepEqual(q(pf('n', 'GREATER_THAN', v.int(1))), [2, 6, 5, 3]);
    assert.deepEqual(q(pf('n', 'GREATER_THAN_OR_EQUAL', v.dbl(0))), [3]);
    assert.deepEqual(q(pf('n', 'EQUAL', v.nul())), [4]);
  });

  it('matches arrays when any element matches, and never unindexed or missing values', () => {
    assert.deepEqual(q(pf('tags', 'EQUAL', v.str('b'))), [1]);
    assert.deepEqual(q(pf('tags', 'GREATER_THAN', v.str('a'))), [1, 2]);
    assert.deepEqual(q(pf('s', 'EQUAL', v.str('x'))), [1]);
    assert.deepEqual(q(pf('hidden', 'EQUAL', v.int(1))), []);
    assert.deepEqual(q(pf('hidden', 'EQUAL', v.int(2))), [3]);
    assert.deepEqual(q(pf('nothere', 'EQUAL', v.nul())), []);
  });

  it('supports IN, NOT_IN and NOT_EQUAL', () => {
    assert.deepEqual(q(pf('n', 'IN', v.arr(v.int(1), v.int(6), v.str('5')))), [1, 5, 6]); // IN is no inequality: key order
    assert.deepEqual(q(pf('n', 'NOT_IN', v.arr(v.int(1), v.int(6)))), [4, 2, 5, 3]);
    assert.deepEqual(q(pf('n', 'NOT_EQUAL', v.int(2))), [4, 1, 6, 5, 3]);
    assert.deepEqual(q(pf('tags', 'NOT_EQUAL', v.str('a'))), [1, 2]);
  });

  it('combines with AND and OR', () => {
    assert.deepEqual(q(and(pf('n', 'GREATER_THAN_OR_EQUAL', v.int(1)), pf('n', 'LESS_THAN', v.int(6)))), [1, 2]);
    assert.deepEqual(q(or(pf('n', 'EQUAL', v.int(1)), pf('tags', 'EQUAL', v.str('c')))), [1, 2]);
    assert.deepEqual(q(or(pf('n', 'EQUAL', v.int(6)), and(pf('n', 'EQUAL', v.int(2)), pf('tags', 'EQUAL', v.str('c'))))), [2, 6]);
  });

  it('filters __key__ with IN and on embedded entity properties by dotted name', () => {
    assert.deepEqual(q(pf('__key__', 'IN', v.arr(v.key(['K', 5]), v.key(['K', 2])))), [2, 5]);
    assert.deepEqual(q(pf('address.city', 'EQUAL', v.str('Oslo'))), [4]);
    assert.deepEqual(q(pf('places.city', 'EQUAL', v.str('Oslo'))), [6]);
  });

  it('filters by ancestor, including the ancestor itself', () => {
    const tree = new MemSnapshot([
      entity(['K', 1]),
      entity(['K', 1, 'K', 2]),
      entity(['K', 1, 'C', 3, 'K', 4]),
      entity(['K', 2]),
      entity(['K', 2, 'K', 1]),
    ]);
    const b = run(tree, query('K', { filter: pf('__key__', 'HAS_ANCESTOR', v.key(['K', 1])) }));
    // K/1 < K/1/C/3/K/4 < K/1/K/2: kind C sorts before K.
    assert.deepEqual(b.entityResults!.map((r) => r.entity!.key!.path!.length), [1, 3, 2]);
    const kindless = run(tree, query(undefined, { filter: pf('__key__', 'HAS_ANCESTOR', v.key(['K', 1, 'C', 3])) }));
    assert.deepEqual(kindless.entityResults!.map((r) => r.entity!.key!.path!.at(-1)!.kind), ['K']);
  });

  it('refuses what Datastore refuses', () => {
    const tooMany = v.arr(...Array.from({ length: 31 }, (_, i) => v.int(i)));
    fails(() => q(pf('n', 'IN', tooMany)), 3, /30/);
    fails(() => q(pf('n', 'IN', v.int(1))), 3, /array/);
    fails(() => q(pf('n', 'NOT_IN', v.arr(...Array.from({ length: 11 }, (_, i) => v.int(i))))), 3, /10/);
    fails(() => q(and(pf('n', 'NOT_IN', v.arr(v.int(1))), pf('s', 'IN', v.arr(v.int(1))))), 3, /NOT_IN/);
    fails(() => q(or(pf('__key__', 'HAS_ANCESTOR', v.key(['K', 1])), pf('__key__', 'HAS_ANCESTOR', v.key(['K', 2])))), 3, /^All disjunctions must have a common and unique ancestor constraint/);
    fails(() => q(and(pf('n', 'NOT_EQUAL', v.int(1)), pf('s', 'NOT_IN', v.arr(v.int(1))))), 3);
    fails(() => q(pf('n', 'EQUAL', v.arr(v.int(1)))), 3);
    fails(() => q(pf('__key__', 'EQUAL', v.int(1))), 3, /Key/);
    fails(() => q(pf('__key__', 'HAS_ANCESTOR', v.key(['K', 1], 'other-ns'))), 3, /partition/);
    fails(() => q(pf('n', 'HAS_ANCESTOR', v.key(['K', 1]))), 3);
    fails(() => run(snap, query(undefined, { filter: pf('n', 'EQUAL', v.int(1)) })), 3, /Kindless/);
    fails(() => run(snap, query(undefined, { order: [order('n')] })), 3, /Kindless/);
    fails(() => run(snap, { kind: [{ name: 'A' }, { name: 'B' }] }), 3);
  });
});

describe('orders and projections', () => {
  const snap = new MemSnapshot([
    entity(['K', 1], { a: v.arr(v.int(5), v.int(1)), b: v.str('x'), t: v.ts(10, 500000) }),
    entity(['K', 2], { a: v.int(3), b: v.str('y'), t: v.ts(20) }),
    entity(['K', 3], { a: v.arr(v.int(2), v.int(9)), b: v.str('x') }),
    entity(['K', 4], { b: v.str('z') }),
    entity(['K', 5], { a: v.noindex(v.int(0)), b: v.str('y') }),
  ]);

  it('sorts an array by its smallest element ascending and largest descending, once per entity', () => {
    assert.deepEqual(ids(run(snap, query('K', { order: [order('a')] }))), [1, 3, 2]);
    assert.deepEqual(ids(run(snap, query('K', { order: [order('a', 'DESCENDING')] }))), [3, 1, 2]);
  });

  it('sorts by several properties with __key__ as the tie-break, and by __key__ descending', () => {
    assert.deepEqual(ids(run(snap, query('K', { order: [order('b', 'DESCENDING'), order('a')] }))), [2, 1, 3]);
    assert.deepEqual(ids(run(snap, query('K', { order: [order('b')] }))), [1, 3, 2, 5, 4]);
    assert.deepEqual(ids(run(snap, query('K', { order: [order('__key__', 'DESCENDING')] }))), [5, 4, 3, 2, 1]);
  });

  it('orders by the inequality property implicitly and uses the filtered array element', () => {
    assert.deepEqual(ids(run(snap, query('K', { filter: pf('a', 'GREATER_THAN', v.int(2)) }))), [2, 1, 3]);
  });

  it('pages a property-ordered query with cursors', () => {
    const big = many(650, (i) => ({ r: v.int((i * 7919) % 1000) }));
    const seen: number[] = [];
    let cursor: Buffer | undefined;
    for (;;) {
      const b = run(big, query('K', { order: [order('r', 'DESCENDING')], ...(cursor ? { startCursor: cursor } : {}) }));
      for (const r of b.entityResults!) seen.push(Number(r.entity!.properties!.r!.integerValue));
      if (b.moreResults !== 'NOT_FINISHED') break;
      cursor = b.endCursor as Buffer;
    }
    assert.equal(seen.length, 650);
    assert.deepEqual(seen, [...seen].sort((x, y) => y - x));
  });

  it('pages one row at a time through every value type, in both directions, with cursors that carry each type', () => {
    const mixed = [
      // Strings and blobs are one class ordered by bytes: '' < 00 ff < c3 a9 ('é').
      v.nul(), v.int('-9223372036854775808'), v.ts(0, 5000), v.int(7), v.bool(false), v.bool(true), v.str(''),
      v.blob([0, 255]), v.str('é'), v.dbl(-0.5), v.dbl(Infinity), v.dbl(NaN), v.geo(-10, 20), v.geo(-10, 21), v.key(['A', 1]), v.key(['A', 'x'], 'ns'),
    ];
    const snap2 = new MemSnapshot(mixed.map((x, i) => entity(['M', i + 1], { m: x })));
    for (const dir of ['ASCENDING', 'DESCENDING'] as const) {
      const all = ids(run(snap2, query('M', { order: [order('m', dir)] })));
      assert.equal(all.length, mixed.length);
      const paged: (string | number)[] = [];
      let cursor: unknown;
      for (;;) {
        const b = run(snap2, query('M', { order: [order('m', dir)], limit: { value: 1 }, ...(cursor ? { startCursor: cursor } : {}) }));
        if (b.entityResults!.length === 0) break;
        paged.push(...ids(b));
        cursor = b.endCursor;
      }
      assert.deepEqual(paged, all);
      assert.deepEqual(dir === 'ASCENDING' ? all : [...all].reverse(), Array.from({ length: mixed.length }, (_, i) => i + 1));
    }
  });

  it('projects indexed values, one row per array element, timestamps as integers with meaning 18', () => {
    const b = run(snap, query('K', { projection: [{ property: { name: 'a' } }, { property: { name: 'b' } }] }));
    assert.equal(b.entityResultType, 'PROJECTION');
    const rows = b.entityResults!.map((r) => `${r.entity!.key!.path![0]!.id}:${r.entity!.properties!.a!.integerValue}:${r.entity!.properties!.b!.stringValue}`);
    // Without an order, rows come by the projected values (a, then b), as Google's emulators return them.
    assert.deepEqual(rows, ['1:1:x', '3:2:x', '2:3:y', '1:5:x', '3:9:x']);
    const t = run(snap, query('K', { projection: [{ property: { name: 't' } }], order: [order('t')] }));
    assert.deepEqual(t.entityResults![0]!.entity!.properties!.t, { integerValue: '10000500', valueType: 'integerValue', meaning: 18 });
    // A cursor between two rows of one entity resumes at the second.
    const byKey = [order('__key__')];
    const first = run(snap, query('K', { projection: [{ property: { name: 'a' } }, { property: { name: 'b' } }], order: byKey, limit: { value: 1 } }));
    const rest = run(snap, query('K', { projection: [{ property: { name: 'a' } }, { property: { name: 'b' } }], order: byKey, startCursor: first.endCursor }));
    assert.equal(rest.entityResults!.length, 4);
    assert.equal(rest.entityResults![0]!.entity!.properties!.a!.integerValue, '5');
  });

  it('de-duplicates with distinct_on, also across cursors', () => {
    const q = { projection: [{ property: { name: 'b' } }], distinctOn: [{ name: 'b' }] };
    const b = run(snap, query('K', q));
    assert.deepEqual(b.entityResults!.map((r) => r.entity!.properties!.b!.stringValue), ['x', 'y', 'z']);
    const one = run(snap, query('K', { ...q, limit: { value: 1 } }));
    const next = run(snap, query('K', { ...q, startCursor: one.endCursor }));
    assert.deepEqual(next.entityResults!.map((r) => r.entity!.properties!.b!.stringValue), ['y', 'z']);
    fails(() => run(snap, query('K', { ...q, order: [order('a'), order('b')] })), 3, /distinct/);
    // DISTINCT ON with whole entities: the first entity of each value.
    assert.deepEqual(ids(run(snap, query('K', { distinctOn: [{ name: 'b' }] }))), [1, 2, 4]);
  });

  it('refuses projecting a property under an equality filter, or twice', () => {
    fails(() => run(snap, query('K', { projection: [{ property: { name: 'b' } }], filter: pf('b', 'EQUAL', v.str('x')) })), 3);
    fails(() => run(snap, query('K', { projection: [{ property: { name: 'b' } }, { property: { name: 'b' } }] })), 3);
  });
});

describe('metadata queries', () => {
  const snap = new MemSnapshot([
    entity(['B', 1], { n: v.int(1), s: v.str('a'), l: v.arr(v.dbl(1), v.bool(true)), x: v.noindex(v.str('q')), e: v.ent({ c: v.key(['B', 1]) }) }),
    entity(['A', 'a'], { n: v.ts(1), g: v.geo(1, 1), z: v.nul() }),
    entity(['A', 1], {}, 'ns2'),
    entity(['C', 1], {}, 'ns1'),
  ]);
  const names = (b: IQueryResultBatch) => b.entityResults!.map((r) => r.entity!.key!.path!.map((e) => e.name ?? `#${e.id}`).join('/'));

  it('lists namespaces (default as id 1) with key ranges', () => {
    assert.deepEqual(names(run(snap, query('__namespace__'))), ['#1', 'ns1', 'ns2']);
    const ranged = run(snap, query('__namespace__', { filter: pf('__key__', 'GREATER_THAN', { valueType: 'keyValue', keyValue: { partitionId: { projectId: 'p', namespaceId: '' }, path: [{ kind: '__namespace__', id: '1' }] } } as IValue) }));
    assert.deepEqual(names(ranged), ['ns1', 'ns2']);
  });

  it('lists kinds of the request namespace', () => {
    assert.deepEqual(names(run(snap, query('__kind__'))), ['A', 'B']);
    assert.deepEqual(names(run(snap, query('__kind__', {}), { ...PARTITION, namespaceId: 'ns1' })), ['C']);
    const keysOnly = run(snap, query('__kind__', { projection: [{ property: { name: '__key__' } }], filter: pf('__key__', 'GREATER_THAN_OR_EQUAL', { valueType: 'keyValue', keyValue: { path: [{ kind: '__kind__', name: 'B' }] } } as IValue) }));
    assert.deepEqual(names(keysOnly), ['B']);
  });

  it('lists indexed properties with their representations, per kind with an ancestor', () => {
    const b = run(snap, query('__property__'));
    assert.deepEqual(names(b), ['A/g', 'A/n', 'A/z', 'B/e.c', 'B/l', 'B/n', 'B/s']);
    const reps = Object.fromEntries(
      b.entityResults!.map((r) => [
        r.entity!.key!.path!.map((e) => e.name).join('/'),
        r.entity!.properties!.property_representation!.arrayValue!.values!.map((x) => x.stringValue).join(','),
      ]),
    );
    assert.deepEqual(reps, { 'A/g': 'POINT', 'A/n': 'INT64', 'A/z': 'NULL', 'B/e.c': 'REFERENCE', 'B/l': 'BOOLEAN,DOUBLE', 'B/n': 'INT64', 'B/s': 'STRING' });
    const onlyA = run(snap, query('__property__', { filter: pf('__key__', 'HAS_ANCESTOR', { valueType: 'keyValue', keyValue: { path: [{ kind: '__kind__', name: 'A' }] } } as IValue) }));
    assert.deepEqual(names(onlyA), ['A/g', 'A/n', 'A/z']);
  });

  it('refuses property filters on metadata kinds', () => {
    fails(() => run(snap, query('__kind__', { filter: pf('n', 'EQUAL', v.int(1)) })), 3);
  });
});

describe('__scatter__', () => {
  const snap = many(20000);
  const scatter = (extra = {}) =>
    run(snap, query('K', { order: [order('__scatter__')], projection: [{ property: { name: '__key__' } }], ...extra }));

  it('samples about 1 in 128 keys, deterministically, ordered by hash, never returning the property', () => {
    const a = scatter();
    const n = a.entityResults!.length;
    assert.ok(n > 100 && n < 220, `sampled ${n} of 20000`);
    assert.deepEqual(ids(scatter()), ids(a));
    assert.notDeepEqual(ids(a), [...(ids(a) as number[])].sort((x, y) => x - y));
    assert.deepEqual(a.entityResults![0]!.entity!.properties, {});
  });

  it('combines with __key__ ranges and pages with cursors', () => {
    const all = ids(scatter()) as number[];
    const within = ids(scatter({ filter: pf('__key__', 'LESS_THAN', v.key(['K', 10000])) })) as number[];
    assert.deepEqual(within, all.filter((i) => i < 10000));
    const first = scatter({ limit: { value: 10 } });
    const rest = scatter({ startCursor: first.endCursor });
    assert.deepEqual([...ids(first), ...ids(rest)], all);
  });

  it('must be the only order, ascending', () => {
    fails(() => run(snap, query('K', { order: [order('__scatter__', 'DESCENDING')] })), 3);
    fails(() => run(snap, query('K', { order: [order('__scatter__'), order('n')] })), 3);
  });
});

describe('aggregations', () => {
  const snap = new MemSnapshot([
    entity(['K', 1], { n: v.int(1), d: v.dbl(0.5) }),
    entity(['K', 2], { n: v.int(2), d: v.int(2) }),
    entity(['K', 3], { n: v.str('x'), d: v.arr(v.int(100)) }),
    entity(['K', 4], { n: v.int('9223372036854775807') }),
  ]);
  const agg = (aggregations: object[], nested: object = query('K')) =>
    runAggregationQuery(snap, PARTITION, { aggregationQuery: { nestedQuery: nested, aggregations } as never }).batch;

  it('counts, with up_to and over the nested query filters and limit', () => {
    const b = agg([{ operator: 'count', count: {}, alias: 'all' }, { operator: 'count', count: { upTo: { value: '2' } }, alias: 'capped' }]);
    assert.deepEqual(b.aggregationResults![0]!.aggregateProperties, { all: v.int(4), capped: v.int(2) });
    assert.equal(b.moreResults, 'NO_MORE_RESULTS');
    const f = agg([{ operator: 'count', count: {} }], query('K', { filter: pf('n', 'LESS_THAN', v.int(3)), limit: { value: 1 } }));
    assert.deepEqual(f.aggregationResults![0]!.aggregateProperties, { property_1: v.int(1) });
  });

  it('sums integers as integers, overflow and doubles as doubles, averages as doubles', () => {
    const small = agg([{ operator: 'sum', sum: { property: { name: 'n' } }, alias: 's' }], query('K', { filter: pf('__key__', 'LESS_THAN', v.key(['K', 4])) }));
    assert.deepEqual(small.aggregationResults![0]!.aggregateProperties!.s, v.int(3));
    const one = (a: object) => agg([a]).aggregationResults![0]!.aggregateProperties!.property_1 as { valueType?: string; doubleValue?: number };
    const sumN = one({ operator: 'sum', sum: { property: { name: 'n' } } });
    assert.equal(sumN.valueType, 'doubleValue');
    assert.equal(sumN.doubleValue, 9223372036854775807 + 3);
    // An array's elements are index rows of their own, as on Google's Firestore emulator.
    assert.deepEqual(one({ operator: 'sum', sum: { property: { name: 'd' } } }), v.dbl(102.5));
    assert.deepEqual(one({ operator: 'avg', avg: { property: { name: 'd' } } }), v.dbl(102.5 / 3));
    assert.equal(one({ operator: 'avg', avg: { property: { name: 'none' } } }).valueType, 'nullValue');
    // Two properties: rows are the entities holding both (K4 has no d).
    const both = agg([{ operator: 'sum', sum: { property: { name: 'n' } } }, { operator: 'sum', sum: { property: { name: 'd' } } }]).aggregationResults![0]!.aggregateProperties!;
    assert.deepEqual(both.property_1, v.int(3));
    assert.deepEqual(both.property_2, v.dbl(102.5));
  });

  it('refuses no aggregations, more than five, and duplicate aliases', () => {
    fails(() => agg([]), 3);
    fails(() => agg(Array.from({ length: 6 }, () => ({ operator: 'count', count: {} }))), 3);
    fails(() => agg([{ operator: 'count', count: {}, alias: 'x' }, { operator: 'count', count: {}, alias: 'x' }]), 3);
  });
});

