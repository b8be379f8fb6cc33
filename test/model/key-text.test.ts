import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKey } from '../../src/model/key-text.js';

test('formatKey: ids bare, names quoted, the namespace when not the default', () => {
  assert.equal(formatKey({ partitionId: { namespaceId: 'ns' }, path: [{ kind: 'A', id: '1' }, { kind: 'B', name: 'x' }] }), 'A(1)/B("x") in namespace "ns"');
  assert.equal(formatKey({ partitionId: { projectId: 'p', namespaceId: '' }, path: [{ kind: 'User', name: 'u1' }] }), 'User("u1")');
  assert.equal(formatKey({ path: [{ kind: 'A' }] }), 'A()');
  assert.equal(formatKey({ path: [{ kind: 'A', id: '0', name: 'n' }] }), 'A("n")');
  assert.equal(formatKey({ path: [{ kind: 'A', name: 'a"b' }] }), 'A("a\\"b")');
  assert.equal(formatKey(undefined), '(no key)');
  assert.equal(formatKey(null), '(no key)');
});
