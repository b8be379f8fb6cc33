/**
 * `--require-indexes`: which queries need a composite index, one test per
 * rule of Datastore's documentation, through the real v1 client.
 *
 * Source of every "built-in" and "composite" rule below, unless a test says
 * otherwise: https://cloud.google.com/datastore/docs/concepts/indexes
 * ("Built-in indexes": the queries single-property indexes serve;
 * "Composite indexes": "Composite indexes are required for queries of the
 * following form"). Production refuses with FAILED_PRECONDITION and the text
 * "no matching index found. recommended index is:" followed by the index.yaml
 * entry (seen in production error reports, e.g. oppia/oppia#23789 and
 * googleapis/google-cloud-python#1143).
 *
 * Google's emulators build every index automatically and never refuse, so
 * this runs on dspipe's emulator only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IFilter, IQuery, IValue } from '../../src/model/proto.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createAdminClient } from '../../src/datastore/connection.js';
import { parseIndexYaml, type IndexDefinition } from '../../src/format/index-yaml.js';
import { NO_RETRY, commit, entity, int, key, str } from './conformance.js';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Op = 'EQUAL' | 'IN' | 'LESS_THAN' | 'GREATER_THAN' | 'NOT_EQUAL' | 'HAS_ANCESTOR';
const f = (name: string, op: Op, value: IValue): IFilter => ({ propertyFilter: { property: { name }, op, value } });
const and = (...filters: IFilter[]): IFilter => ({ compositeFilter: { op: 'AND', filters } });
const or = (...filters: IFilter[]): IFilter => ({ compositeFilter: { op: 'OR', filters } });
const asc = (name: string) => ({ property: { name }, direction: 'ASCENDING' as const });
const desc = (name: string) => ({ property: { name }, direction: 'DESCENDING' as const });
const ancestor = (...path: (string | number)[]) => f('__key__', 'HAS_ANCESTOR', { keyValue: key(...path) });
const user = (extra: Partial<IQuery> = {}): IQuery => ({ kind: [{ name: 'User' }], ...extra });

async function run(t: TestEmulator, query: IQuery) {
  const [response] = await t.client.runQuery({ projectId: t.connection.projectId, query }, NO_RETRY);
  return response.batch!.entityResults!.map((r: { entity?: { key?: { path?: { name?: string | null }[] | null } | null } | null }) => r.entity!.key!.path!.at(-1)!.name);
}

/** The query fails as production does, recommending exactly `yaml`. */
async function needs(t: TestEmulator, query: IQuery, yaml: string) {
  await assert.rejects(run(t, query), (err: { code?: number; details?: string }) => {
    assert.equal(err.code, 9, `FAILED_PRECONDITION, got ${err.code}: ${err.details}`);
    assert.equal(err.details, `no matching index found. recommended index is:\n${yaml}`);
    return true;
  });
}

const SEED = [
  entity(key('User', 'ann'), { name: str('ann'), age: int(30), city: str('Kyoto'), birthday: int(1990), bio: str('x', true) }),
  entity(key('User', 'bob'), { name: str('bob'), age: int(25), city: str('Osaka'), birthday: int(1995), bio: str('y') }),
  entity(key('User', 'cy'), { name: str('cy'), age: int(41), city: str('Kyoto'), birthday: int(1980) }),
  entity(key('Team', 1, 'User', 'dee'), { name: str('dee'), age: int(35), city: str('Kyoto'), birthday: int(1985) }),
];

describe('--require-indexes: built-in indexes serve these queries (no index.yaml entry needed)', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator({ indexes: { require: [] } });
    await commit(t, SEED.map((e) => ({ upsert: e })));
  });
  after(() => t.close());

  it('kindless queries using only ancestor and key filters', async () => {
    const q: IQuery = { filter: and(ancestor('Team', 1), f('__key__', 'GREATER_THAN', { keyValue: key('Team', 1) })) };
    assert.deepEqual(await run(t, q), ['dee']);
  });

  it('queries using only ancestor and equality filters (several equalities merge built-in indexes)', async () => {
    assert.deepEqual(await run(t, user({ filter: and(ancestor('Team', 1), f('city', 'EQUAL', str('Kyoto'))) })), ['dee']);
    assert.deepEqual(await run(t, user({ filter: and(f('city', 'EQUAL', str('Kyoto')), f('age', 'EQUAL', int(41))) })), ['cy']);
    assert.deepEqual(await run(t, user({ filter: f('city', 'IN', { arrayValue: { values: [str('Osaka')] } }) })), ['bob']);
  });

  it('queries using only inequality filters on a single property (in either sort direction)', async () => {
    assert.deepEqual(await run(t, user({ filter: f('age', 'GREATER_THAN', int(26)) })), ['ann', 'dee', 'cy']);
    assert.deepEqual(await run(t, user({ filter: f('age', 'GREATER_THAN', int(26)), order: [desc('age')] })), ['cy', 'dee', 'ann']);
  });

  it('queries using only ancestor filters, equality filters on properties and inequality filters on keys', async () => {
    const q = user({ filter: and(ancestor('Team', 1), f('city', 'EQUAL', str('Kyoto')), f('__key__', 'GREATER_THAN', { keyValue: key('Team', 1, 'User', 'a') })) });
    assert.deepEqual(await run(t, q), ['dee']);
  });

  it('queries with no filters and only one sort order on a property, ascending or descending', async () => {
    assert.deepEqual(await run(t, user({ order: [asc('age')] })), ['bob', 'ann', 'dee', 'cy']);
    assert.deepEqual(await run(t, user({ order: [desc('birthday')] })), ['bob', 'ann', 'dee', 'cy']);
  });

  it('a projection of one property with no filters is served by that property\'s built-in index', async () => {
    // "Projection queries require all properties specified in the projection to be included in a
    // Datastore mode index" (https://cloud.google.com/datastore/docs/concepts/queries#projection_queries):
    // one property's built-in index holds it.
    assert.equal((await run(t, user({ projection: [{ property: { name: 'age' } }] }))).length, 4);
  });
});

describe('--require-indexes: composite indexes are required for these queries', () => {
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator({ indexes: { require: [] } });
    await commit(t, SEED.map((e) => ({ upsert: e })));
  });
  after(() => t.close());

  it('queries with ancestor and inequality filters', async () => {
    await needs(t, user({ filter: and(ancestor('Team', 1), f('age', 'GREATER_THAN', int(1))) }), '- kind: User\n  ancestor: yes\n  properties:\n  - name: age\n');
  });

  it('queries with one or more inequality filters on a property and one or more equality filters on other properties', async () => {
    await needs(
      t,
      user({ filter: and(f('city', 'EQUAL', str('Kyoto')), f('age', 'GREATER_THAN', int(1)), f('age', 'LESS_THAN', int(99))) }),
      '- kind: User\n  properties:\n  - name: city\n  - name: age\n',
    );
  });

  it('queries with a sort order on keys in descending order', async () => {
    await needs(t, user({ order: [desc('__key__')] }), '- kind: User\n  properties:\n  - name: __key__\n    direction: desc\n');
  });

  it('queries with multiple sort orders', async () => {
    await needs(t, user({ order: [asc('city'), desc('age')] }), '- kind: User\n  properties:\n  - name: city\n  - name: age\n    direction: desc\n');
  });

  it('queries with one or more filters and one or more sort orders (an ancestor filter counts)', async () => {
    await needs(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] }), '- kind: User\n  properties:\n  - name: city\n  - name: age\n    direction: desc\n');
    await needs(t, user({ filter: ancestor('Team', 1), order: [asc('name')] }), '- kind: User\n  ancestor: yes\n  properties:\n  - name: name\n');
  });

  it('inequality filters on several properties need a composite index (they order implicitly by property name)', async () => {
    // https://cloud.google.com/datastore/docs/multiple-range-fields: range and inequality filters on multiple
    // properties are served by a composite index over them.
    await needs(t, user({ filter: and(f('birthday', 'LESS_THAN', int(2000)), f('name', 'LESS_THAN', str('z'))) }), '- kind: User\n  properties:\n  - name: birthday\n  - name: name\n');
  });

  it('a projection of several properties needs a composite index holding them', async () => {
    // https://cloud.google.com/datastore/docs/concepts/queries#projection_queries: every projected property must be in one index.
    // Without an order the rows come by the projected values, properties by name (as both Google
    // emulators return them), so that is the index recommended: (age, city).
    await needs(t, user({ projection: [{ property: { name: 'city' } }, { property: { name: 'age' } }] }), '- kind: User\n  properties:\n  - name: age\n  - name: city\n');
  });

  it('each disjunction of an OR query needs its own index, and the error names the first missing', async () => {
    const q = user({ filter: or(f('city', 'EQUAL', str('Kyoto')), f('name', 'EQUAL', str('bob'))), order: [asc('age')] });
    await needs(t, q, '- kind: User\n  properties:\n  - name: city\n  - name: age\n');
  });

  it('aggregation queries need the same indexes as their nested query', async () => {
    const nestedQuery = user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] });
    await assert.rejects(
      t.client.runAggregationQuery({ projectId: t.connection.projectId, aggregationQuery: { nestedQuery, aggregations: [{ alias: 'n', count: {} }] } }, NO_RETRY),
      (err: { code?: number; details?: string }) => err.code === 9 && /recommended index is:\n- kind: User/.test(err.details ?? ''),
    );
  });

  it('GQL queries are checked too', async () => {
    await assert.rejects(
      t.client.runQuery({ projectId: t.connection.projectId, gqlQuery: { queryString: 'SELECT * FROM User WHERE city = "Kyoto" ORDER BY age DESC', allowLiterals: true } }, NO_RETRY),
      (err: { code?: number }) => err.code === 9,
    );
  });
});

describe('--require-indexes: which indexes serve a query', () => {
  const FILE = `indexes:
- kind: User
  properties:
  - name: city
  - name: age
    direction: desc
- kind: User
  properties:
  - name: name
  - name: birthday
- kind: User
  properties:
  - name: city
  - name: birthday
- kind: User
  properties:
  - name: age
  - name: birthday
- kind: User
  ancestor: yes
  properties:
  - name: name
`;
  let t: TestEmulator;
  before(async () => {
    t = await startTestEmulator({ indexes: { require: parseIndexYaml(FILE), buildMs: 100 } });
    await commit(t, SEED.map((e) => ({ upsert: e })));
  });
  after(() => t.close());

  it('a READY index from the file serves exactly its query', async () => {
    assert.deepEqual(await run(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] })), ['cy', 'dee', 'ann']);
    assert.deepEqual(await run(t, user({ filter: ancestor('Team', 1), order: [asc('name')] })), ['dee']);
  });

  it('directions must match: (city, age desc) does not serve ORDER BY age ascending', async () => {
    // An index stores its properties in the order and direction it declares (index definition and structure).
    await needs(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [asc('age')] }), '- kind: User\n  properties:\n  - name: city\n  - name: age\n');
  });

  it('equality filters merge composite indexes that share the sort (zigzag merge join)', async () => {
    // Datastore merges indexes whose postfix (sort part) matches, each answering some of the equality
    // filters — as a Datastore engineer explains for "asking more index than expected" (stackoverflow.com/q/33117878).
    const q = user({ filter: and(f('city', 'EQUAL', str('Kyoto')), f('name', 'EQUAL', str('cy'))), order: [asc('birthday')] });
    assert.deepEqual(await run(t, q), ['cy']);
    // ... but not when no index of the set covers an equality property.
    const q2 = user({ filter: and(f('city', 'EQUAL', str('Kyoto')), f('bio', 'EQUAL', str('y'))), order: [asc('birthday')] });
    await needs(t, q2, '- kind: User\n  properties:\n  - name: city\n  - name: bio\n  - name: birthday\n');
  });

  it('unindexed properties never match, even with an index that names them', async () => {
    // "Filtering on unindexed properties returns no results" and an entity is in a composite index only if
    // every property of it is indexed (index definition and structure; queries: restrictions).
    const q = user({ filter: f('age', 'GREATER_THAN', int(0)), order: [asc('age'), asc('birthday')] });
    assert.deepEqual(await run(t, q), ['bob', 'ann', 'dee', 'cy']);
    await commit(t, [{ upsert: entity(key('User', 'eve'), { name: str('eve'), age: int(50), birthday: { integerValue: '1970', excludeFromIndexes: true } }) }]);
    assert.deepEqual(await run(t, q), ['bob', 'ann', 'dee', 'cy'], 'eve has birthday unindexed: not in the index');
    assert.deepEqual(await run(t, user({ filter: f('bio', 'EQUAL', str('x')) })), [], 'ann\'s bio is unindexed');
  });

  it('an index created through the Admin API serves queries once READY, not while CREATING', async () => {
    const q = user({ filter: f('name', 'EQUAL', str('bob')), order: [desc('age')] });
    const yaml = '- kind: User\n  properties:\n  - name: name\n  - name: age\n    direction: desc\n';
    await needs(t, q, yaml);
    const admin = createAdminClient(t.connection);
    try {
      const [op] = await admin.createIndex({
        projectId: t.connection.projectId,
        index: { kind: 'User', ancestor: 'NONE', properties: [{ name: 'name', direction: 'ASCENDING' }, { name: 'age', direction: 'DESCENDING' }] },
      });
      await needs(t, q, yaml);
      await op.promise();
      assert.deepEqual(await run(t, q), ['bob']);
      const [listed] = await admin.listIndexes({ projectId: t.connection.projectId });
      assert.equal(listed.length, 6, 'the file\'s five indexes are deployed, READY, plus the new one');
    } finally {
      await admin.close();
    }
  });
});

describe('without --require-indexes nothing changes; --write-indexes records what queries needed', () => {
  it('queries that need a composite index run, and each needed index is reported once', async () => {
    const seen: IndexDefinition[] = [];
    const t = await startTestEmulator({ indexes: { onNeeded: (i) => seen.push(i) } });
    try {
      await commit(t, SEED.map((e) => ({ upsert: e })));
      assert.deepEqual(await run(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] })), ['cy', 'dee', 'ann']);
      await run(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] }));
      await run(t, user({ filter: f('age', 'GREATER_THAN', int(0)) }));
      assert.deepEqual(seen.map((i) => i.properties.map((p) => `${p.name} ${p.direction}`)), [['city asc', 'age desc'], ['city asc', 'age desc']]);
    } finally {
      await t.close();
    }
    const plain = await startTestEmulator();
    try {
      await commit(plain, SEED.map((e) => ({ upsert: e })));
      assert.deepEqual(await run(plain, user({ order: [asc('city'), desc('age')] })), ['cy', 'dee', 'ann', 'bob']);
    } finally {
      await plain.close();
    }
  });
});

describe('--write-indexes FILE', () => {
  it('keeps the file it finds and adds each index a query needed, once, in the order first needed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspipe-write-indexes-'));
    const file = join(dir, 'index.yaml');
    writeFileSync(file, 'indexes:\n- kind: Post\n  ancestor: yes\n  properties:\n  - name: date\n    direction: desc\n');
    const t = await startTestEmulator({ indexes: { writeFile: file } });
    try {
      await commit(t, SEED.map((e) => ({ upsert: e })));
      await run(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] }));
      await run(t, user({ filter: f('city', 'EQUAL', str('Kyoto')), order: [desc('age')] }));
      await run(t, user({ order: [asc('name')] }));
      await run(t, user({ filter: ancestor('Team', 1), order: [asc('name')] }));
      const written = readFileSync(file, 'utf8');
      assert.match(written, /^# Composite indexes/);
      assert.deepEqual(parseIndexYaml(written), [
        { kind: 'Post', ancestor: true, properties: [{ name: 'date', direction: 'desc' }] },
        { kind: 'User', ancestor: false, properties: [{ name: 'city', direction: 'asc' }, { name: 'age', direction: 'desc' }] },
        { kind: 'User', ancestor: true, properties: [{ name: 'name', direction: 'asc' }] },
      ]);
      assert.deepEqual(readdirSync(dir), ['index.yaml'], 'written through a temp file and renamed');
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
