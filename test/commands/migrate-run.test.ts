import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { migrateRun } from '../../src/commands/migrate.js';
import { parseConvert, parseDrop, parseRename, parseSet } from '../../src/format/transforms.js';
import { commit, kindLines, readKind, seedUsers, birthdayString } from '../migrate/fixtures.js';
import { EntityHelper, Timestamp } from '../../src/format/entity-helper.js';
import { isDspipeError } from '../../src/errors.js';
import { MIGRATION_KIND } from '../../src/options/migrate.js';
import type { Connection } from '../../src/datastore/connection.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const N = 60;
const opened: TestBackend[] = [];
after(async () => {
  for (const b of opened) await b.close();
});
/** A named database of a project of its own, seeded. */
async function fresh(name: string) {
  const b = await t.fresh({ databaseId: name });
  opened.push(b);
  const c = { connection: b.connection as Connection, client: b.client };
  await seedUsers(c.client, c.connection, N);
  return c;
}
const users = async (c: { connection: Connection; client: TestBackend['client'] }) =>
  (await readKind(c.client, c.connection, 'User')).map((e) => new EntityHelper(e));

test('--convert birthday:timestamp->string:date converts timestamps, leaves strings and missing, keeps index flags', async () => {
  const c = await fresh('convert');
  const r = await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:timestamp->string:date')] }, c);
  assert.equal(r.counts.read, N);
  for (const [i, u] of (await users(c)).entries()) {
    if (i % 50 === 7) assert.equal(u.has('birthday'), false);
    else {
      assert.equal(u.get('birthday'), birthdayString(i));
      assert.equal(u.isExcludedFromIndexes('birthday'), i % 3 !== 0 && i % 2 === 0);
    }
  }
  // Built-ins are idempotent: a second run changes nothing.
  const again = await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:timestamp->string:date')] }, c);
  assert.equal(again.counts.changed, 0);
  assert.deepEqual(await readKind(c.client, c.connection, MIGRATION_KIND), [], 'run is not recorded');
});

test('--convert string->timestamp with date and a pattern, and a string that does not parse stops naming the key', async () => {
  const c = await fresh('convert-back');
  // every birthday a timestamp, then all as d/m/Y strings, then back
  await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:string->timestamp:date')] }, c);
  assert.ok((await users(c)).every((u, i) => i % 50 === 7 || u.type('birthday') === 'timestamp'));
  await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:timestamp->string:%d/%m/%Y')] }, c);
  assert.equal((await users(c))[1]!.get('birthday'), '02/01/1980');
  await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:string->timestamp:%d/%m/%Y')] }, c);
  for (const [i, u] of (await users(c)).entries()) {
    if (i % 50 === 7) continue;
    const b = u.get('birthday') as Timestamp;
    assert.ok(b instanceof Timestamp, `user ${i}`);
    assert.equal(b.toISOString(), `${birthdayString(i)}T00:00:00.000Z`);
  }
  await commit(c.client, c.connection, [{ upsert: { key: { partitionId: { projectId: c.connection.projectId, databaseId: c.connection.databaseId }, path: [{ kind: 'User', name: 'zz-bad' }] }, properties: { birthday: { stringValue: 'next tuesday' } } } }]);
  await assert.rejects(
    migrateRun({ kind: 'User', transforms: [parseConvert('birthday:string->timestamp:%d/%m/%Y')] }, c),
    (err: unknown) => isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && err.key === 'User("zz-bad")' && /"next tuesday" is not a "%d\/%m\/%Y" time/.test(err.message),
  );
});

test('--convert with epoch-ms and iso formats', async () => {
  const c = await fresh('epoch');
  await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:timestamp->string:epoch-ms')] }, c);
  assert.equal((await users(c))[1]!.get('birthday'), String((315_532_800 + 86_400) * 1000));
  assert.equal((await users(c))[3]!.get('birthday'), birthdayString(3), 'strings left alone');
  const c2 = await fresh('iso');
  await migrateRun({ kind: 'User', transforms: [parseConvert('birthday:timestamp->string')] }, c2);
  assert.equal((await users(c2))[1]!.get('birthday'), '1980-01-02T00:00:00.000Z');
});

test('--rename, --drop and --set apply in the order given; --set only where missing', async () => {
  const c = await fresh('rename');
  const r = await migrateRun({ kind: 'User', transforms: [parseRename('bio=about'), parseDrop('visits'), parseSet('birthday=str:unknown'), parseSet('tier=int:1')] }, c);
  assert.equal(r.counts.changed, N);
  for (const [i, u] of (await users(c)).entries()) {
    assert.equal(u.has('bio'), false);
    assert.deepEqual(u.getRaw('about'), { ...(u.getRaw('about') as object), stringValue: 'x'.repeat(i % 20), excludeFromIndexes: true });
    assert.equal(u.has('visits'), false);
    assert.equal(u.get('tier'), 1n);
    if (i % 50 === 7) assert.equal(u.get('birthday'), 'unknown');
    else assert.notEqual(u.get('birthday'), 'unknown');
  }
  await assert.rejects(
    migrateRun({ kind: 'User', transforms: [parseRename('name=about')] }, c),
    (err: unknown) => isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && /already has "about"/.test(err.message) && err.key === 'User("u00000")',
  );
});

test('run --dry-run writes nothing and shows examples', async () => {
  const c = await fresh('dry-run');
  const before = await kindLines(c.client, c.connection, 'User');
  const r = await migrateRun({ kind: 'User', dryRun: true, examples: 1, transforms: [parseDrop('bio')] }, c);
  assert.equal(r.counts.changed, N);
  assert.equal(r.examples.length, 1);
  assert.deepEqual(await kindLines(c.client, c.connection, 'User'), before);
  await assert.rejects(migrateRun({ kind: 'User', transforms: [] }, c), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION'));
});
