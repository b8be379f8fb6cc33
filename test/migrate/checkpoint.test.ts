import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointTracker } from '../../src/migrate/checkpoint.js';

const k = (name: string) => ({ path: [{ kind: 'K', name }] });

test('the frontier stops before the oldest write not done, whatever order writes finish in', () => {
  const t = new CheckpointTracker(k('a0'));
  assert.deepEqual(t.frontier(), k('a0'));
  t.settled(k('a1'));
  const w2 = t.started(k('a2'));
  t.settled(k('a3'));
  const w4 = t.started(k('a4'));
  const w5 = t.started(k('a5'));
  assert.deepEqual(t.frontier(), k('a1'));
  t.done(w4);
  assert.deepEqual(t.frontier(), k('a1'), 'a2 is still out');
  t.done(w2);
  assert.deepEqual(t.frontier(), k('a4'), 'a5 is still out');
  assert.equal(t.inFlight, 1);
  t.done(w5);
  assert.deepEqual(t.frontier(), k('a5'));
  t.settled(k('a6'));
  assert.deepEqual(t.frontier(), k('a6'));
});

test('with nothing done yet the frontier is where we resumed from (or null)', () => {
  const t = new CheckpointTracker();
  t.started(k('b1'));
  assert.equal(t.frontier(), null);
});
