import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointTracker, writtenSince } from '../../src/migrate/checkpoint.js';

const k = (name: string) => ({ path: [{ kind: 'K', name }] });

test('the frontier stops before the oldest write not done, whatever order writes finish in', () => {
  const t = new CheckpointTracker(k('a0'));
  assert.deepEqual(t.frontier(), k('a0'));
  t.settled(k('a1'));
  const w2 = t.started(k('a2'), 'changed');
  t.settled(k('a3'));
  const w4 = t.started(k('a4'), 'changed');
  const w5 = t.started(k('a5'), 'changed');
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
  t.started(k('b1'), 'changed');
  assert.equal(t.frontier(), null);
});

test('the counts are those of the entities up to the frontier: a write sent but not done is not counted', () => {
  const t = new CheckpointTracker();
  t.settled(k('c1'));
  const w2 = t.started(k('c2'), 'changed');
  const w3 = t.started(k('c3'), 'deleted');
  t.settled(k('c4'), 'recovered');
  t.done(w3);
  assert.deepEqual(t.committed, { read: 1, changed: 0, deleted: 0, unchanged: 1 });
  t.done(w2, 'unchanged'); // a conflict resolved as "nothing to do"
  assert.deepEqual(t.committed, { read: 4, changed: 1, deleted: 1, unchanged: 2 });
});

test('an entity inside a window with a newer version than the window was written since; outside every window it was not', () => {
  const windows = [{ upTo: k('d5'), after: '100' }, { upTo: k('d9'), after: null }];
  assert.equal(writtenSince(windows, k('d3'), '101', '200'), true);
  assert.equal(writtenSince(windows, k('d3'), '100', '200'), false);
  assert.equal(writtenSince(windows, k('d7'), '150', '200'), false, 'the second window opened at the record version, 200');
  assert.equal(writtenSince(windows, k('d7'), '201', '200'), true);
  assert.equal(writtenSince(windows, k('e0'), '999', '200'), false, 'past every window: never sent');
  assert.equal(writtenSince(windows, k('d3'), '1796170841078000', '1796170841077999'), true, 'compared as integers, not strings');
});
