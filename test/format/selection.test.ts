import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matches, parseNameFilter, parseSelection } from '../../src/format/selection.js';
import { isDspipeError } from '../../src/errors.js';

test('an empty entry is refused with the option named', () => {
  assert.throws(() => parseNameFilter('User,,Order', '--kinds'), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--kinds/.test(err.message));
  assert.throws(() => parseNameFilter('-', '--kinds'), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION'));
});

test('no filter selects everything', () => {
  const s = parseSelection({});
  assert.equal(matches(s.kinds, 'Anything'), true);
  assert.equal(matches(s.namespaces, ''), true);
});

test('includes, exclusions and wildcards', () => {
  const f = parseNameFilter('User*,Order,-UserAudit', '--kinds');
  assert.equal(matches(f, 'User'), true);
  assert.equal(matches(f, 'UserProfile'), true);
  assert.equal(matches(f, 'UserAudit'), false);
  assert.equal(matches(f, 'Order'), true);
  assert.equal(matches(f, 'OrderLine'), false);
  const ex = parseNameFilter(['-Log'], '--kinds');
  assert.equal(matches(ex, 'User'), true);
  assert.equal(matches(ex, 'Log'), false);
});

test('(default) names the default namespace; regex characters are literal', () => {
  const f = parseNameFilter('(default),tenant.a', '--namespaces', true);
  assert.equal(matches(f, ''), true);
  assert.equal(matches(f, 'tenant.a'), true);
  assert.equal(matches(f, 'tenantXa'), false);
});
