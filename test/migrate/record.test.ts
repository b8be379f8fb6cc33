import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordFromEntity, recordKey, recordToEntity, type MigrationRecord } from '../../src/migrate/record.js';
import { encodeEntity, encodeKey, decodeEntity } from '../../src/format/entity-codec.js';
import { isDspipeError } from '../../src/errors.js';

const connection = { projectId: 'p', databaseId: 'db' };
const record: MigrationRecord = {
  name: '0001-birthday-to-string',
  checksum: 'a'.repeat(64),
  description: 'birthday → string',
  kinds: ['User', 'Admin'],
  status: 'running',
  startedAt: '2026-11-22T09:00:00.123456Z',
  finishedAt: null,
  counts: { read: 10, changed: 6, deleted: 1, unchanged: 3, conflicts: 2 },
  checkpoint: [
    { namespace: '', kind: 'User', done: true, lastKey: null },
    { namespace: 'tenant', kind: 'Admin', done: false, lastKey: { partitionId: { projectId: 'p', databaseId: 'db', namespaceId: 'tenant' }, path: [{ kind: 'Admin', id: '42' }] } },
  ],
  error: null,
  runId: 'r1',
};

test('a record survives the entity and the dump line format unchanged', () => {
  const entity = recordToEntity(record, recordKey(connection, record.name));
  assert.deepEqual(entity.key, { partitionId: { projectId: 'p', databaseId: 'db', namespaceId: '' }, path: [{ kind: 'DspipeMigration', name: '0001-birthday-to-string' }] });
  assert.equal(entity.properties!.checkpoint!.excludeFromIndexes, true);
  const back = recordFromEntity(decodeEntity(encodeEntity(entity)));
  const plain = (r: MigrationRecord) => ({ ...r, checkpoint: r.checkpoint.map((c) => ({ ...c, lastKey: c.lastKey && encodeKey(c.lastKey) })) });
  assert.deepEqual(plain(back), plain(record));
  const done = recordFromEntity(recordToEntity({ ...record, status: 'applied', finishedAt: '2026-11-22T09:01:00.000000Z', error: 'x' }, recordKey(connection, record.name)));
  assert.deepEqual([done.status, done.finishedAt, done.error], ['applied', '2026-11-22T09:01:00.000000Z', 'x']);
});

test('a record edited by hand into nonsense is reported, naming the kind', () => {
  const entity = recordToEntity(record, recordKey(connection, record.name));
  entity.properties!.status = { stringValue: 'half-done' };
  assert.throws(() => recordFromEntity(entity), (err: unknown) => isDspipeError(err) && err.kind === 'DspipeMigration' && /unknown status "half-done"/.test(err.message));
  const e2 = recordToEntity(record, recordKey(connection, record.name));
  e2.properties!.checkpoint = { stringValue: '{oops' };
  assert.throws(() => recordFromEntity(e2), /unreadable checkpoint/);
});
