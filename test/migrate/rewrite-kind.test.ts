import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { rewriteKind } from '../../src/migrate/rewrite-kind.js';
import { createClient, type DatastoreClient } from '../../src/datastore/connection.js';
import { EntityHelper } from '../../src/format/entity-helper.js';
import { commit, readKind, seedUsers } from '../migrate/fixtures.js';
import { isDspipeError } from '../../src/errors.js';
import type { IKey } from '../../src/model/proto.js';

let t: TestEmulator;
let other: DatastoreClient;
before(async () => {
  t = await startTestEmulator();
  other = createClient(t.connection);
});
after(async () => {
  await other.close();
  await t.close();
});

test('an entity that changes under every attempt stops after maxConflictAttempts with a clear error', async () => {
  const connection = { ...t.connection, databaseId: 'restless' };
  await seedUsers(t.client, connection, 5);
  let calls = 0;
  const err = await rewriteKind(t.client, connection, {
    namespace: '',
    kind: 'User',
    maxConflictAttempts: 3,
    script: {
      name: 'restless',
      file: '/restless.ts',
      // Someone else rewrites u00002 every time we read it: our base_version never matches.
      transform: async (e) => {
        if (e.key!.path![0]!.name === 'u00002') {
          calls++;
          const mine = new EntityHelper(e.toEntity()).set('visits', BigInt(calls));
          await commit(other, connection, [{ upsert: mine.toEntity() }]);
        }
        return e.set('touched', true);
      },
    },
  }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_MIGRATION_FAILED'), String(err));
  assert.match(err.message, /User\("u00002"\): the entity kept changing while it was being migrated \(3 conflicting writes in a row\)/);
  assert.equal(calls, 4, 'the first attempt plus 3 re-reads');
  assert.match(err.hint ?? '', /--max-conflict-attempts/);
  const users = (await readKind(t.client, connection, 'User')).map((e) => new EntityHelper(e));
  // the other writer's last write is there, untouched by us
  assert.deepEqual([users[2]!.get('visits'), users[2]!.has('touched')], [4n, false]);
});

test('checkpoints are handed out as writes land, and the last one covers the kind', async () => {
  const connection = { ...t.connection, databaseId: 'checkpoints' };
  await seedUsers(t.client, connection, 100);
  const seen: Array<string | null> = [];
  const result = await rewriteKind(t.client, connection, {
    namespace: '',
    kind: 'User',
    checkpointEvery: 10,
    batchSize: 7,
    writers: 3,
    script: { name: 's', file: '/s.ts', transform: (e) => e.set('n', 1n) },
    onCheckpoint: async (last: IKey | null) => void seen.push(last?.path?.[0]?.name ?? null),
  });
  assert.equal(result.counts.changed, 100);
  assert.ok(seen.length >= 10, `${seen.length} checkpoints`);
  const names = seen.filter((s): s is string => s !== null);
  assert.deepEqual(names, [...names].sort(), 'the frontier only moves forward');
  assert.equal(seen.at(-1), 'u00099');
});

test('an entity Datastore refuses (an indexed string over 1,500 bytes) stops the run naming the script and key', async () => {
  const connection = { ...t.connection, databaseId: 'refused' };
  await seedUsers(t.client, connection, 20);
  const err = await rewriteKind(t.client, connection, {
    namespace: '',
    kind: 'User',
    script: { name: 'too-long', file: '/too-long.ts', transform: (e) => (e.key!.path![0]!.name === 'u00011' ? e.set('name', 'x'.repeat(2000)) : undefined) },
  }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_MIGRATION_FAILED'), String(err));
  assert.equal(err.key, 'User("u00011")');
  assert.equal(err.file, '/too-long.ts');
  assert.match(err.message, /migration too-long produced an entity Datastore refused/);
  assert.match(err.hint ?? '', /excludeFromIndexes/);
});
