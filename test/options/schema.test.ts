import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSchemaOptions } from '../../src/options/schema.js';
import { matches } from '../../src/format/selection.js';
import { refusalTests, type Conflict, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeSchemaOptions>[0];

describe('schema options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['an empty --from', { from: '' }, '--from', 'from', '""'],
    ['a blank --from', { from: '  ' }, '--from', 'from', '"  "'],
    ['an empty kinds entry', { kinds: ',' }, '--kinds', 'kinds', '","'],
    ['fast as text', { fast: 'yes' as never }, '--fast', 'fast', '"yes"'],
    ['snapshot as a number', { snapshot: 0 as never }, '--no-snapshot', 'snapshot', '0'],
  ];
  const conflicts: Conflict<Input>[] = [
    ['--fast with --from', { from: '_backup/x', fast: true }, ['--fast', '--from'], ['fast', 'from']],
  ];
  refusalTests((input: Input) => normalizeSchemaOptions(input), refusals, conflicts);
});

test('schema options: defaults', () => {
  const o = normalizeSchemaOptions({ kinds: 'User' });
  assert.deepEqual([o.fast, o.snapshot, o.from], [false, true, undefined]);
  assert.ok(matches(o.selection.kinds, 'User') && !matches(o.selection.kinds, 'Order'));
  assert.equal(normalizeSchemaOptions({ from: '_backup/x', snapshot: false }).from, '_backup/x');
});
