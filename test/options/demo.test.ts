import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDemoOptions, DEFAULT_DEMO_USERS } from '../../src/options/demo.js';
import { refusalTests, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeDemoOptions>[0];

describe('demo options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['users 0', { users: '0' }, '--users', 'users', '"0"'],
    ['users in words', { users: 'many' }, '--users', 'users', '"many"'],
    ['users over 100000', { users: 100_001 }, '--users', 'users', '100001'],
    ['an empty root', { root: '' }, '--root', 'root', '""'],
    ['a name with a slash', { name: 'a/b' }, '--name', 'name', '"a/b"'],
  ];
  refusalTests((input: Input) => normalizeDemoOptions(input), refusals);
});

test('demo options: defaults', () => {
  const o = normalizeDemoOptions({}, new Date('2026-11-22T09:45:00.123Z'));
  assert.deepEqual(o, { root: '_backup', name: 'demo-20261122T094500Z', users: DEFAULT_DEMO_USERS });
  assert.equal(normalizeDemoOptions({ users: '500' }).users, 500);
});
