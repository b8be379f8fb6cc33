import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCatPaths } from '../../src/options/cat.js';
import { refusalTests, type Conflict, type Refusal } from './refusals.js';

describe('cat paths: refusals', () => {
  const refusals: Refusal<unknown>[] = [
    ['an empty path', ['a.ndjson', ''], 'FILE', 'paths', '""'],
    ['a path that is not text', [1], 'FILE', 'paths', '1'],
    ['paths that are not a list', 'a.ndjson', 'FILE', 'paths', '"a.ndjson"'],
  ];
  const conflicts: Conflict<unknown>[] = [['no path', [], ['FILE'], ['paths']]];
  refusalTests(normalizeCatPaths, refusals, conflicts);
});

test('cat paths: given in order', () => {
  assert.deepEqual(normalizeCatPaths(['_backup/d', 'x.ndjson.zst']), ['_backup/d', 'x.ndjson.zst']);
});
