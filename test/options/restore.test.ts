import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRestoreOptions, DEFAULT_RESTORE_CONCURRENCY, DEFAULT_WRITERS } from '../../src/options/restore.js';
import { matches } from '../../src/format/selection.js';
import { refusalTests, type Conflict, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeRestoreOptions>[0];

describe('restore options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['a name with a slash', { name: 'a/b' }, '--name', 'name', '"a/b"'],
    ['the name ..', { name: '..' }, '--name', 'name', '".."'],
    ['a name with NUL', { name: 'a\0' }, '--name', 'name', '"a\\u0000"'],
    ['a name with leading space', { name: ' a' }, '--name', 'name', '" a"'],
    ['an empty --in', { in: '' }, '--in', 'in', '""'],
    ['an empty root', { name: 'a', root: '' }, '--root', 'root', '""'],
    ['an unknown mode', { name: 'a', mode: 'replace' as never }, '--mode', 'mode', '"replace"'],
    ['an unknown on-error', { name: 'a', onError: 'ignore' as never }, '--on-error', 'onError', '"ignore"'],
    ['concurrency 0', { name: 'a', concurrency: 0 }, '--concurrency', 'concurrency', '0'],
    ['concurrency 257', { name: 'a', concurrency: '257' }, '--concurrency', 'concurrency', '"257"'],
    ['writers in words', { name: 'a', writers: 'many' }, '--writers', 'writers', '"many"'],
    ['a negative batch size', { name: 'a', batchSize: '-1' }, '--batch-size', 'batchSize', '"-1"'],
    ['batch bytes over the request limit', { name: 'a', batchBytes: 11 * 1024 * 1024 }, '--batch-bytes', 'batchBytes', String(11 * 1024 * 1024)],
    ['a namespace map entry without =', { name: 'a', namespaceMap: 'x' }, '--namespace-map', 'namespaceMap', '"x"'],
    ['a namespace map of numbers', { name: 'a', namespaceMap: { a: 1 } as never }, '--namespace-map', 'namespaceMap', '{"a":1}'],
    ['an empty kinds entry', { name: 'a', kinds: 'A,,B' }, '--kinds', 'kinds', '"A,,B"'],
    ['an empty rejects file', { name: 'a', onError: 'skip', rejects: '' }, '--rejects', 'rejects', '""'],
    ['dry run as text', { name: 'a', dryRun: 'yes' as never }, '--dry-run', 'dryRun', '"yes"'],
    ['an empty options file', { name: 'a', optionsFile: '' }, '--options', 'optionsFile', '""'],
  ];
  const conflicts: Conflict<Input>[] = [
    ['no dump named', {}, ['--name', '--in'], ['name', 'in']],
    ['both --name and --in', { name: 'a', in: 'b' }, ['--name', '--in'], ['name', 'in']],
    ['--rejects without --on-error skip', { name: 'a', rejects: 'r.ndjson' }, ['--rejects', '--on-error skip'], ['rejects', 'onError']],
  ];
  refusalTests((input: Input) => normalizeRestoreOptions(input), refusals, conflicts);
});

describe('normalizeRestoreOptions: defaults', () => {
  test('a name is a folder under the root', () => {
    const o = normalizeRestoreOptions({ name: '20261122' });
    assert.deepEqual(o.source, { type: 'folder', dir: '_backup/20261122' });
    assert.equal(o.mode, 'upsert');
    assert.equal(o.onError, 'fail');
    assert.equal(o.concurrency, DEFAULT_RESTORE_CONCURRENCY);
    assert.equal(o.writers, DEFAULT_WRITERS);
    assert.equal(o.dryRun, false);
    assert.equal(o.optionsFile, '_backup/options.json');
  });
  test('--in - is stdin, --in DIR a folder', () => {
    assert.deepEqual(normalizeRestoreOptions({ in: '-' }).source, { type: 'stdin' });
    assert.deepEqual(normalizeRestoreOptions({ in: '/tmp/x', root: 'r' }).source, { type: 'folder', dir: '/tmp/x' });
  });
  test('the edges of each range', () => {
    const o = normalizeRestoreOptions({ name: 'a', concurrency: 256, writers: '1', batchSize: 100_000, batchBytes: 10 * 1024 * 1024, mode: 'insert' });
    assert.deepEqual([o.concurrency, o.writers, o.batchSize, o.batchBytes, o.mode], [256, 1, 100_000, 10 * 1024 * 1024, 'insert']);
  });
  test('selection, namespace map and numbers from strings', () => {
    const o = normalizeRestoreOptions({ name: 'a', kinds: 'A,-B', namespaces: '(default)', namespaceMap: ['x=y'], writers: '8', onError: 'skip', rejects: 'r' });
    assert.ok(matches(o.selection.kinds, 'A') && !matches(o.selection.kinds, 'B'));
    assert.ok(matches(o.selection.namespaces, '') && !matches(o.selection.namespaces, 'x'));
    assert.equal(o.namespaceMap.get('x'), 'y');
    assert.equal(o.writers, 8);
    assert.equal(o.rejects, 'r');
  });
});
