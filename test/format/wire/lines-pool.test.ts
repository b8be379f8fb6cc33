/**
 * Pages of lines are lent without a copy and their memory reused once given
 * back (recycleLines): never before, never twice, never memory that was not lent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runQueryResponseToLines } from '../../../src/format/wire/run-query-lines.js';
import { recycleLines } from '../../../src/format/wire/line-buffer.js';
import { wirePage } from '../../fixtures/wire-pages.js';

const page = (first: number, n = 300) => runQueryResponseToLines(wirePage(first, n)).lines;

test('pages not given back never share memory; a page given back is reused, once', () => {
  const a = page(0);
  const copyOfA = Buffer.from(a);
  const b = page(300);
  const c = page(600);
  assert.notEqual(a.buffer, b.buffer);
  assert.notEqual(b.buffer, c.buffer);
  assert.deepEqual(a, copyOfA, 'a page is not written again while it is out');
  recycleLines(a);
  recycleLines(a); // twice: ignored
  recycleLines(a.subarray(10, 20)); // a part of it, after: ignored too
  const d = page(900);
  const e = page(1200);
  const f = page(1500);
  const reused = [d, e, f].filter((x) => x.buffer === a.buffer).length;
  assert.equal(reused, 1, 'the memory of a comes back exactly once');
  assert.equal(d.toString().split('\n').length, 301);
  assert.match(d.toString(), /^\{"key":.*"id":"901"/);
});

test('memory that was not lent is never taken in: a copy, a Buffer of its own, a small page', () => {
  const a = page(0);
  recycleLines(Buffer.from(a));
  recycleLines(Buffer.alloc(1 << 20));
  const small = page(0, 3); // a query's last page: copied out of the buffer, not lent
  recycleLines(small);
  const next = [page(300), page(600), page(900)];
  for (const x of next) {
    assert.notEqual(x.buffer, a.buffer);
    assert.notEqual(x.buffer, small.buffer);
  }
  assert.match(small.toString(), /"id":"3"/);
});
