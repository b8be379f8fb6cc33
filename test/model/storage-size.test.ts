/**
 * Fixtures from Google's "Storage size calculations" page (Datastore mode docs):
 * every figure below is one the page works out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entitySize, keySize, stringSize, valueSize } from '../../src/model/storage-size.js';
import { MAX_ENTITY_BYTES } from '../../src/model/limits.js';

test('strings are UTF-8 bytes + 1 (the docs: Task 5, description 12, my_name_space 14)', () => {
  assert.equal(stringSize('Task'), 5);
  assert.equal(stringSize('description'), 12);
  assert.equal(stringSize('my_name_space'), 14);
  assert.equal(stringSize('héllo'), 7);
});

test('key sizes: the docs\' four keys', () => {
  assert.equal(keySize({ path: [{ kind: 'Task', id: '5730082031140864' }] }), 29);
  assert.equal(keySize({ path: [{ kind: 'Task', name: 'my_task_id' }] }), 32);
  const child = { path: [{ kind: 'TaskList', id: '5654313976201216' }, { kind: 'Task', id: '5629499534213120' }] };
  assert.equal(keySize(child), 46);
  assert.equal(keySize({ partitionId: { namespaceId: 'my_name_space' }, ...child }), 60);
  // the default namespace is size 0, however it is spelled
  assert.equal(keySize({ partitionId: { projectId: 'p', namespaceId: '' }, path: child.path }), 46);
});

test('the id/name rule: an id is 8 bytes, a name is a string, id "0" or neither counts as the id to come', () => {
  assert.equal(keySize({ path: [{ kind: 'Task', id: '1' }] }), 29);
  assert.equal(keySize({ path: [{ kind: 'Task', id: '1', idType: 'id' } as never] }), 29);
  assert.equal(keySize({ path: [{ kind: 'Task', name: 'a' }] }), 16 + 5 + 2);
  // proto-loader's shape: the unset member of the oneof may be present as its default
  assert.equal(keySize({ path: [{ kind: 'Task', id: '0', name: 'my_task_id' }] }), 32);
  assert.equal(keySize({ path: [{ kind: 'Task', id: null, name: 'my_task_id' }] }), 32);
  assert.equal(keySize({ path: [{ kind: 'Task', name: '' }] }), 29);
  assert.equal(keySize({ path: [{ kind: 'Task' }] }), 29);
});

test('property value sizes by type, as the docs\' table gives them', () => {
  assert.equal(valueSize({ nullValue: 'NULL_VALUE' }), 1);
  assert.equal(valueSize({ booleanValue: true }), 1);
  assert.equal(valueSize({ integerValue: '1' }), 8);
  assert.equal(valueSize({ doubleValue: 1.5 }), 8);
  assert.equal(valueSize({ timestampValue: { seconds: '1', nanos: 0 } }), 8);
  assert.equal(valueSize({ geoPointValue: { latitude: 1, longitude: 2 } }), 16);
  assert.equal(valueSize({ stringValue: 'Personal' }), 9);
  assert.equal(valueSize({ blobValue: Buffer.alloc(10) }), 10);
  assert.equal(valueSize({ blobValue: 'AQID' as never }), 3);
  assert.equal(valueSize({ keyValue: { path: [{ kind: 'Task', id: '1' }] } }), 29);
  assert.equal(valueSize({ arrayValue: { values: [{ integerValue: '1' }, { booleanValue: true }] } }), 9);
  assert.equal(valueSize({ arrayValue: {} }), 0);
  assert.equal(valueSize({ entityValue: { properties: { done: { booleanValue: false } } } }), 32 + 6);
  // gRPC's decoded shape names the variant
  assert.equal(valueSize({ valueType: 'stringValue', stringValue: 'ab', integerValue: '0' } as never), 3);
});

test('entity size: the docs\' Task entity is 132 bytes', () => {
  const task = {
    key: { path: [{ kind: 'Task', id: '5730082031140864' }] },
    properties: {
      type: { stringValue: 'Personal' },
      done: { booleanValue: false },
      priority: { integerValue: '1' },
      description: { stringValue: 'Learn Cloud Datastore' },
    },
  };
  // key 29 + type 14 + done 6 + priority 17 + description 34 + 32
  assert.equal(entitySize(task), 132);
});

test('the entity limit is 1 MiB - 4 by this formula', () => {
  const fill = (n: number) => ({ key: { path: [{ kind: 'K', name: 'a' }] }, properties: { p: { stringValue: 'x'.repeat(n), excludeFromIndexes: true } } });
  const base = entitySize(fill(0));
  assert.equal(entitySize(fill(MAX_ENTITY_BYTES - base)), MAX_ENTITY_BYTES);
  assert.equal(MAX_ENTITY_BYTES, 1024 * 1024 - 4);
});
