import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backendTraits, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { migrateStatus, migrateUp } from '../../src/commands/migrate.js';
import { birthdayString, commit, kindLines, migrationsDir, readKind, seedUsers, user, userKey } from '../migrate/fixtures.js';
import { EntityHelper } from '../../src/format/entity-helper.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { isDspipeError, type DspipeError } from '../../src/errors.js';
import { MIGRATION_KIND } from '../../src/options/migrate.js';
import type { Connection } from '../../src/datastore/connection.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const N = 120;
/** Each test works in its own named database of its own project, so they never see each other's data or records. */
type Db = { connection: Connection; client: TestBackend['client'] };
const opened: TestBackend[] = [];
after(async () => {
  for (const b of opened) await b.close();
});
async function db(name: string): Promise<Db> {
  const b = await t.fresh({ databaseId: name });
  opened.push(b);
  return { connection: b.connection, client: b.client };
}

/** A script converting birthdays like the example, but misbehaving on one entity. */
const badScript = (misbehave: string) => `
export const kind = 'User';
export const description = 'converts, then misbehaves on u00050';
export function transform(user) {
  if (user.key.path[0].name === 'u00050') { ${misbehave} }
  const b = user.get('birthday');
  if (!(b instanceof Date)) return undefined;
  user.set('birthday', b.toISOString().slice(0, 10));
  return user;
}
`;

/** Every entity is either exactly as seeded or exactly converted: nothing half-written. */
async function assertConsistent(c: Db): Promise<{ converted: number; original: number }> {
  let converted = 0;
  let original = 0;
  const entities = await readKind(c.client, c.connection, 'User');
  assert.equal(entities.length, N);
  for (const [i, e] of entities.entries()) {
    const seeded = user(c.connection, i);
    const conv = new EntityHelper(seeded);
    const b = conv.get('birthday');
    if (b instanceof Date) conv.set('birthday', birthdayString(i));
    const line = encodeEntity(e);
    if (line === encodeEntity(seeded) && b instanceof Date) original++;
    else if (line === encodeEntity(conv.toEntity())) converted++;
    else assert.fail(`entity ${i} is neither original nor converted: ${line}`);
  }
  return { converted, original };
}

for (const [label, misbehave, message] of [
  ['throws', "throw new Error('boom on purpose');", /transform threw: boom on purpose/],
  ['returns a different key', "user.key.path[0].name = 'elsewhere'; return user;", /different key \(User\("elsewhere"\)\)/],
  ['returns a non-entity', 'return 42;', /transform returned a number \(42\), not an entity/],
  ['returns a plain object', "return { hello: 'world' };", /not an entity/],
] as const) {
  test(`a script that ${label} stops with DSPIPE_MIGRATION_FAILED naming the script and the key; migrated entities stay consistent`, async () => {
    const c = await db(`bad-${label.replaceAll(' ', '-')}`);
    await seedUsers(c.client, c.connection, N);
    const dir = await migrationsDir({ '0001-bad.mjs': badScript(misbehave) }, false);
    const err = await migrateUp({ dir, checkpointEvery: 10, writers: 2 }, c).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e as DspipeError,
    );
    assert.ok(isDspipeError(err, 'DSPIPE_MIGRATION_FAILED'), String(err));
    assert.match(err.message, /migration 0001-bad failed on User\("u00050"\)/);
    assert.match(err.message, message);
    assert.equal(err.file, join(dir, '0001-bad.mjs'));
    assert.equal(err.key, 'User("u00050")');
    assert.equal(err.kind, 'User');

    const { converted } = await assertConsistent(c);
    assert.ok(converted > 0, 'entities before the bad one were migrated');
    const [status] = await migrateStatus({ dir }, c);
    assert.equal(status!.state, 'interrupted');
    assert.equal(status!.record!.status, 'failed');
    assert.match(status!.record!.error!, /u00050/);
    const cp = status!.record!.checkpoint[0]!;
    assert.equal(cp.done, false);
    // The checkpoint never passes the entity that failed.
    assert.ok(cp.lastKey === null || cp.lastKey.path![0]!.name! < 'u00050', JSON.stringify(cp.lastKey));

    // Fixing the script (changing it) is how one goes on: an interrupted migration may change.
    await writeFile(join(dir, '0001-bad.mjs'), badScript(''));
    const up = await migrateUp({ dir }, c);
    assert.equal(up.migrations[0]!.resumed, true);
    const after = await assertConsistent(c);
    assert.equal(after.original, 0);
    const [done] = await migrateStatus({ dir }, c);
    assert.equal(done!.state, 'applied');
  });
}

test('a changed applied script is refused with DSPIPE_MIGRATION_CHANGED unless allowChanged', async () => {
  const c = await db('changed');
  await seedUsers(c.client, c.connection, 10);
  const dir = await migrationsDir();
  await migrateUp({ dir }, c);
  const file = join(dir, '0001-birthday-to-string.ts');
  await writeFile(file, `${await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8'))}\n// edited\n`);
  await assert.rejects(migrateUp({ dir }, c), (err: unknown) => isDspipeError(err, 'DSPIPE_MIGRATION_CHANGED') && err.file === file && /changed after it was applied/.test(err.message));
  const [s] = await migrateStatus({ dir }, c);
  assert.equal(s!.state, 'changed');
  const allowed = await migrateUp({ dir, allowChanged: true }, c);
  assert.deepEqual(allowed, { migrations: [], changedAllowed: ['0001-birthday-to-string'] });
});

test('--dry-run reads and transforms everything, writes nothing, reports counts and before/after examples', async () => {
  const c = await db('dry');
  await seedUsers(c.client, c.connection, N);
  const before = await kindLines(c.client, c.connection, 'User');
  const dir = await migrationsDir();
  const up = await migrateUp({ dir, dryRun: true, examples: 2 }, c);
  const r = up.migrations[0]!;
  assert.equal(r.dryRun, true);
  assert.equal(r.counts.read, N);
  assert.equal(r.counts.changed, before.filter((l) => l.includes('"timestampValue"')).length);
  assert.equal(r.examples.length, 2);
  const ex = r.examples[0]! as { key: string; before: { properties: Record<string, unknown> }; after: { properties: Record<string, unknown> } };
  assert.equal(ex.key, 'User("u00001")');
  assert.deepEqual(ex.before.properties.birthday, { timestampValue: '1980-01-02T00:00:00.000000Z' });
  assert.deepEqual(ex.after.properties.birthday, { stringValue: '1980-01-02' });
  assert.deepEqual(await kindLines(c.client, c.connection, 'User'), before);
  assert.deepEqual(await readKind(c.client, c.connection, MIGRATION_KIND), []);
  const [s] = await migrateStatus({ dir }, c);
  assert.equal(s!.state, 'pending');
});

test('up runs in name order, stops at --to, and a transform returning null deletes', async () => {
  const c = await db('order');
  await seedUsers(c.client, c.connection, 100);
  const dir = await migrationsDir({
    '0002-drop-without-birthday.mjs': `export const kinds = ['User'];
export const description = 'delete users without a birthday';
export const transform = (u) => (u.has('birthday') ? undefined : null);`,
    '0003-count.js': `export default { kind: 'User', description: 'needs 0001 first', transform(u) {
  if (typeof u.get('birthday') !== 'string') throw new Error('0001 did not run first');
  return undefined; } };`,
  });
  const first = await migrateUp({ dir, to: '0002-drop-without-birthday' }, c);
  assert.deepEqual(first.migrations.map((m) => m.name), ['0001-birthday-to-string', '0002-drop-without-birthday']);
  assert.equal(first.migrations[1]!.counts.deleted, 2);
  assert.deepEqual((await migrateStatus({ dir }, c)).map((s) => s.state), ['applied', 'applied', 'pending']);
  const users = await readKind(c.client, c.connection, 'User');
  assert.equal(users.length, 98);
  assert.ok(users.every((u) => u.properties!.birthday !== undefined));
  const rest = await migrateUp({ dir }, c);
  assert.deepEqual(rest.migrations.map((m) => m.name), ['0003-count']);
  await assert.rejects(migrateUp({ dir, to: 'nope' }, c), (err: unknown) => isDspipeError(err, 'DSPIPE_NOT_FOUND'));
});

test('a script that cannot load, or exports no transform, stops before anything is written', async () => {
  const c = await db('load');
  await seedUsers(c.client, c.connection, 10);
  const before = await kindLines(c.client, c.connection, 'User');
  const syntax = await migrationsDir({ '0002-broken.ts': 'export const kind = ;' });
  await assert.rejects(migrateUp({ dir: syntax }, c), (err: unknown) => isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && err.file!.endsWith('0002-broken.ts') && /could not be loaded/.test(err.message));
  const status = await migrateStatus({ dir: syntax }, c);
  assert.match(status[1]!.description, /^\(does not load: migration script could not be loaded/);
  const noTransform = await migrationsDir({ '0002-empty.mjs': "export const kind = 'User';" });
  await assert.rejects(migrateUp({ dir: noTransform }, c), (err: unknown) => isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && /exports no transform/.test(err.message));
  // 0001 is fine but must not run when a later script is broken.
  assert.deepEqual(await kindLines(c.client, c.connection, 'User'), before);
});

test(
  'a script limits its namespaces; --namespaces limits only dry runs of up',
  async () => {
    const c = await db('ns');
    await seedUsers(c.client, c.connection, 10);
    await seedUsers(c.client, c.connection, 10, 'tenant-a');
    await commit(c.client, c.connection, [{ upsert: { key: userKey(c.connection, 99, 'tenant-b'), properties: { birthday: { timestampValue: { seconds: '0', nanos: 0 } } } } }]);
    const dir = await migrationsDir({
      '0001-birthday-to-string.mjs': `export const kind = 'User';
export const namespaces = '-tenant-b';
export function transform(u) { const b = u.get('birthday'); if (b instanceof Date) return u.set('birthday', b.toISOString().slice(0, 10)); }`,
    }, false);
    await assert.rejects(migrateUp({ dir, namespaces: 'tenant-a' }, c), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /recorded as applied everywhere/.test(err.message));
    const dry = await migrateUp({ dir, namespaces: 'tenant-a', dryRun: true }, c);
    assert.deepEqual(dry.migrations[0]!.kinds.map((k) => k.namespace), ['tenant-a']);
    const warnings: string[] = [];
    const up = await migrateUp({ dir }, { ...c, onEvent: (e) => void (e.type === 'warning' && warnings.push(e.message)) });
    if (backendTraits().listsKinds) {
      assert.deepEqual(up.migrations[0]!.kinds.map((k) => k.namespace), ['', 'tenant-a']);
    } else {
      // Google's Firestore emulator lists no namespaces, so a pattern reaches only the default one, and says
      // how to name them: in the script, since up takes no --namespaces. A script that names them needs no listing.
      assert.deepEqual(up.migrations[0]!.kinds.map((k) => k.namespace), ['']);
      assert.match(warnings.join('\n'), /does not list namespaces.*in the migration script, e\.g\. export const namespaces/);
      const named = await migrationsDir({
        '0002-birthday-to-string-named.mjs': `export const kind = 'User';
export const namespaces = '(default),tenant-a';
export function transform(u) { const b = u.get('birthday'); if (b instanceof Date) return u.set('birthday', b.toISOString().slice(0, 10)); }`,
      }, false);
      const again = await migrateUp({ dir: named }, c);
      assert.deepEqual(again.migrations[0]!.kinds.map((k) => k.namespace), ['', 'tenant-a']);
    }
    const b = await readKind(c.client, c.connection, 'User', 'tenant-b');
    assert.ok(b[0]!.properties!.birthday!.timestampValue, 'tenant-b left alone');
    const a = await readKind(c.client, c.connection, 'User', 'tenant-a');
    assert.equal(a[1]!.properties!.birthday!.stringValue, birthdayString(1));
  },
);

test('two runs of one migration at once: the second is stopped, the first finishes', async () => {
  const c = await db('twice');
  await seedUsers(c.client, c.connection, N);
  const dir = await migrationsDir();
  const results = await Promise.allSettled([
    migrateUp({ dir, checkpointEvery: 5 }, c),
    migrateUp({ dir, checkpointEvery: 5 }, c),
  ]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(failed.length, 1, JSON.stringify(results.map((r) => r.status)));
  assert.ok(isDspipeError(failed[0]!.reason, 'DSPIPE_MIGRATION_FAILED'), String(failed[0]!.reason));
  assert.match((failed[0]!.reason as Error).message, /being run by another dspipe at the same time/);
  const after = await assertConsistent(c);
  assert.equal(after.original, 0);
  const [s] = await migrateStatus({ dir }, c);
  assert.equal(s!.state, 'applied');
});
