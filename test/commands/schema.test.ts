import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendTraits, namespacesToName, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { schema, type SchemaEvent } from '../../src/commands/schema.js';
import { dump } from '../../src/commands/dump.js';
import { migrateUp } from '../../src/commands/migrate.js';
import { commit, expectedCounts, migrationsDir, seedUsers } from '../migrate/fixtures.js';
import { isDspipeError } from '../../src/errors.js';

let t: TestBackend;
const traits = backendTraits();
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const N = 150;
const exp = expectedCounts(N);
/** The fixture leaves even-numbered timestamp birthdays unindexed. */
const unindexedBirthdays = Array.from({ length: N }, (_, i) => i).filter((i) => i % 50 !== 7 && i % 3 !== 0 && i % 2 === 0).length;

test('live, from a dump, and after the migration: schema tells the birthday story', async () => {
  await seedUsers(t.client, t.connection, N);
  await seedUsers(t.client, t.connection, 5, 'tenant');
  const key = (name: string) => ({ partitionId: { projectId: t.connection.projectId }, path: [{ kind: 'Profile', name }] });
  await commit(t.client, t.connection, [
    { upsert: { key: key('a'), properties: { address: { entityValue: { properties: { city: { stringValue: 'Kyoto' }, zip: { integerValue: '6000000' } } } }, tags: { arrayValue: { values: [{ stringValue: 'a' }, { booleanValue: true }] } } } } },
    { upsert: { key: key('b'), properties: { address: { entityValue: { properties: { city: { stringValue: 'Nara', excludeFromIndexes: true } } } } } } },
  ]);
  const common = { connection: t.connection, client: t.client };

  const warnings: string[] = [];
  const live = await schema({ namespaces: '(default)' }, { ...common, onEvent: (e: SchemaEvent) => void (e.type === 'warning' && warnings.push(e.message)) });
  assert.equal(live.source, 'live');
  if (traits.readTimes) assert.ok(live.readTime);
  else {
    // No read times: the scan reads current data, and says so.
    assert.equal(live.readTime, null);
    assert.ok(warnings.some((w) => /no read time/.test(w)), JSON.stringify(warnings));
  }
  assert.deepEqual(live.kinds.map((k) => [k.namespace, k.kind, k.entities]), [['', 'Profile', 2], ['', 'User', N]]);
  const user = live.kinds[1]!;
  assert.deepEqual(user.properties.birthday, {
    types: { timestamp: exp.timestamp, string: exp.string },
    entities: N - exp.missing,
    missing: exp.missing,
    indexed: N - exp.missing - unindexedBirthdays,
    unindexed: unindexedBirthdays,
    largestValueBytes: 11,
  });
  const profile = live.kinds[0]!;
  assert.deepEqual(Object.keys(profile.properties), ['address', 'address.city', 'address.zip', 'tags', 'tags[]']);
  assert.deepEqual(profile.properties['address.city'], { types: { string: 2 }, entities: 2, missing: 0, indexed: 1, unindexed: 1, largestValueBytes: 6 });
  assert.deepEqual(profile.properties['tags[]']!.types, { boolean: 1, string: 1 });
  assert.equal(profile.properties.tags!.missing, 1);

  const both = namespacesToName(['', 'tenant']);
  const kindsOnly = await schema({ kinds: 'User', ...(both && { namespaces: both }) }, common);
  assert.deepEqual(kindsOnly.kinds.map((k) => [k.namespace, k.kind, k.entities]), [['', 'User', N], ['tenant', 'User', 5]]);

  // The dump has the same story, read offline.
  const root = await mkdtemp(join(tmpdir(), 'dspipe-schema-'));
  await dump({ root, name: 'before', kinds: 'User' }, { connection: { projectId: t.connection.projectId, emulatorHost: t.emulatorHost } });
  const offline = await schema({ from: join(root, 'before'), namespaces: '(default)' });
  assert.equal(offline.source, 'dump');
  assert.deepEqual(offline.kinds, live.kinds.filter((k) => k.kind === 'User'));

  await migrateUp({ dir: await migrationsDir() }, common);
  const afterMigration = await schema({ kinds: 'User', namespaces: '(default)' }, common);
  assert.deepEqual(afterMigration.kinds[0]!.properties.birthday!.types, { string: N - exp.missing });
  // and the old dump still says what was there before
  assert.deepEqual((await schema({ from: join(root, 'before'), namespaces: '(default)' })).kinds[0]!.properties.birthday!.types, { timestamp: exp.timestamp, string: exp.string });

  if (!traits.listsProperties) return; // __property__ answers nothing here: the next test
  const fast = await schema({ fast: true, namespaces: '(default)' }, common);
  assert.equal(fast.source, 'metadata');
  assert.deepEqual(fast.kinds, []);
  const fastUser = fast.metadata.find((k) => k.kind === 'User')!;
  assert.deepEqual(fastUser.properties.birthday, ['STRING']);
  assert.equal(fastUser.properties.bio, undefined, 'unindexed properties are not in __property__');
  assert.deepEqual(fast.metadata.map((k) => k.kind), ['DspipeMigration', 'Profile', 'User']);
});

test(
  '--fast where __property__ lists nothing says so instead of reporting no properties',
  async () => {
    const b = await t.fresh();
    try {
      await seedUsers(b.client, b.connection, 5);
      const warnings: string[] = [];
      const fast = await schema({ fast: true, namespaces: '(default)' }, { connection: b.connection, client: b.client, onEvent: (e) => void (e.type === 'warning' && warnings.push(e.message)) });
      assert.equal(fast.source, 'metadata');
      if (traits.listsProperties) {
        assert.deepEqual(fast.metadata.map((k) => k.kind), ['User']);
        assert.deepEqual(warnings, []);
      } else {
        assert.deepEqual(fast.metadata, []);
        assert.ok(warnings.some((w) => /__property__|propert/.test(w)), JSON.stringify(warnings));
      }
    } finally {
      await b.close();
    }
  },
);

test('schema --from refuses a missing dump and a damaged one without touching Datastore', async () => {
  await assert.rejects(schema({ from: '/nonexistent/dump' }), (err: unknown) => isDspipeError(err, 'DSPIPE_NOT_FOUND'));
  await assert.rejects(schema({ from: '_backup/x', fast: true }), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION'));
});

test('schema honours the signal: live, --fast and from a dump stop with the caller\'s reason', async () => {
  const common = { connection: t.connection, client: t.client };
  const reason = new Error('stop');
  for (const options of [{}, { fast: true }]) {
    await assert.rejects(schema(options, { ...common, signal: AbortSignal.abort(reason) }), (err) => err === reason);
  }
  const root = await mkdtemp(join(tmpdir(), 'dspipe-schema-stop-'));
  await dump({ root, name: 'd', kinds: 'User' }, common);
  const controller = new AbortController();
  const stopped = schema({ from: join(root, 'd') }, { signal: controller.signal, onEvent: (e) => e.type === 'kind-start' && controller.abort(reason) });
  await assert.rejects(stopped, (err) => err === reason);
});
