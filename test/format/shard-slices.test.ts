import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sliceForShard } from '../../src/format/shard-slices.js';

/** Every line of every kind, as [kind, line], over all tasks. */
function covered(entities: number[], count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) for (const s of sliceForShard(entities, i, count)) for (let l = s.from; l < s.to; l++) out.push([s.kind, l]);
  return out;
}

test('restore slices: every entity to exactly one task, in runs of equal length', () => {
  for (const entities of [[10], [7, 0, 3, 100, 1], [1, 1, 1], [1000, 5]]) {
    for (const count of [1, 2, 3, 8, 13]) {
      const all = covered(entities, count);
      const expected = entities.flatMap((n, k) => Array.from({ length: n }, (_, l): [number, number] => [k, l]));
      assert.deepEqual(all, expected, `${entities} over ${count}`);
      const sizes = Array.from({ length: count }, (_, i) => sliceForShard(entities, i, count).reduce((n, s) => n + s.to - s.from, 0));
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
    }
  }
});

test('restore slices: an empty kind is checked by exactly one task', () => {
  for (const count of [1, 2, 5]) {
    for (const entities of [[0], [0, 0], [4, 0, 4], [3, 0]]) {
      const owners = entities.map((n, k) => (n === 0 ? Array.from({ length: count }, (_, i) => sliceForShard(entities, i, count).filter((s) => s.kind === k).length).reduce((a, b) => a + b, 0) : 1));
      assert.deepEqual(owners, entities.map(() => 1), `${entities} over ${count}`);
    }
  }
});

test('restore slices: whole kinds where they fit', () => {
  assert.deepEqual(sliceForShard([5, 5], 0, 2), [{ kind: 0, from: 0, to: 5 }]);
  assert.deepEqual(sliceForShard([5, 5], 1, 2), [{ kind: 1, from: 0, to: 5 }]);
  assert.deepEqual(sliceForShard([10], 1, 3), [{ kind: 0, from: 3, to: 6 }]);
});
