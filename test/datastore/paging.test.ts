import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLastBatch } from '../../src/datastore/run-query.js';

test('paging ends as the official client decides, for each moreResults value', () => {
  // NOT_FINISHED always goes on, even on an empty batch (production may return one).
  assert.equal(isLastBatch('NOT_FINISHED', 300, undefined), false);
  assert.equal(isLastBatch('NOT_FINISHED', 0, undefined), false);
  assert.equal(isLastBatch('NOT_FINISHED', 10, 500), false);
  // MORE_RESULTS_AFTER_LIMIT goes on only when the batch filled our page-size limit.
  assert.equal(isLastBatch('MORE_RESULTS_AFTER_LIMIT', 500, 500), false);
  assert.equal(isLastBatch('MORE_RESULTS_AFTER_LIMIT', 499, 500), true);
  // Google's legacy emulator ends an unlimited query this way: that is the end.
  assert.equal(isLastBatch('MORE_RESULTS_AFTER_LIMIT', 300, undefined), true);
  assert.equal(isLastBatch('MORE_RESULTS_AFTER_LIMIT', 0, undefined), true);
  assert.equal(isLastBatch('MORE_RESULTS_AFTER_CURSOR', 300, undefined), true);
  assert.equal(isLastBatch('NO_MORE_RESULTS', 0, undefined), true);
  assert.equal(isLastBatch('NO_MORE_RESULTS', 300, 300), true);
  assert.equal(isLastBatch('MORE_RESULTS_TYPE_UNSPECIFIED', 3, undefined), true);
});
