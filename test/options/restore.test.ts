import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDspipeError } from '../../src/errors.js';
import {
  checkClearConfirmation, normalizeClearOptions, normalizeRestoreOptions, DEFAULT_RESTORE_CONCURRENCY, DEFAULT_WRITERS,
} from '../../src/options/restore.js';
import { matches } from '../../src/format/selection.js';

const invalid = (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION');

describe('normalizeRestoreOptions: refuses bad values, quoting them', () => {
  const cases: Array<[string, Parameters<typeof normalizeRestoreOptions>[0]]> = [
    ['no dump named', {}],
    ['name and in', { name: 'a', in: 'b' }],
    ['name with a slash', { name: 'a/b' }],
    ['name ..', { name: '..' }],
    ['empty in', { in: '' }],
    ['empty root', { name: 'a', root: '' }],
    ['mode', { name: 'a', mode: 'replace' }],
    ['on-error', { name: 'a', onError: 'ignore' }],
    ['rejects without skip', { name: 'a', rejects: 'r.ndjson' }],
    ['concurrency 0', { name: 'a', concurrency: 0 }],
    ['writers text', { name: 'a', writers: 'many' }],
    ['batch size negative', { name: 'a', batchSize: '-1' }],
    ['batch bytes over the request limit', { name: 'a', batchBytes: 11 * 1024 * 1024 }],
    ['namespace map', { name: 'a', namespaceMap: 'x' }],
    ['empty kinds entry', { name: 'a', kinds: 'A,,B' }],
  ];
  for (const [what, input] of cases) {
    test(what, () => assert.throws(() => normalizeRestoreOptions(input), invalid));
  }
  test('the message quotes the bad value', () => {
    assert.throws(() => normalizeRestoreOptions({ name: 'a', writers: 'many' }), /"many"/);
  });
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
  test('selection, namespace map and numbers from strings', () => {
    const o = normalizeRestoreOptions({ name: 'a', kinds: 'A,-B', namespaces: '(default)', namespaceMap: ['x=y'], writers: '8', onError: 'skip', rejects: 'r' });
    assert.ok(matches(o.selection.kinds, 'A') && !matches(o.selection.kinds, 'B'));
    assert.ok(matches(o.selection.namespaces, '') && !matches(o.selection.namespaces, 'x'));
    assert.equal(o.namespaceMap.get('x'), 'y');
    assert.equal(o.writers, 8);
    assert.equal(o.rejects, 'r');
  });
});

describe('clear confirmation', () => {
  const emulator = { projectId: 'p', databaseId: '', emulatorHost: 'localhost:1' };
  const prod = { projectId: 'my-app', databaseId: '' };
  const refused = (err: unknown) => isDspipeError(err, 'DSPIPE_CONFIRMATION_REQUIRED');
  test('refuses without --yes, on an emulator too', () => {
    assert.throws(() => checkClearConfirmation(normalizeClearOptions({}), emulator), refused);
    assert.throws(() => checkClearConfirmation(normalizeClearOptions({}), prod), refused);
  });
  test('--yes is enough against an emulator', () => {
    checkClearConfirmation(normalizeClearOptions({ yes: true }), emulator);
  });
  test('a real project must be named, exactly', () => {
    assert.throws(() => checkClearConfirmation(normalizeClearOptions({ yes: true }), prod), refused);
    assert.throws(() => checkClearConfirmation(normalizeClearOptions({ yes: true, confirmProject: 'my-ap' }), prod), refused);
    checkClearConfirmation(normalizeClearOptions({ yes: true, confirmProject: 'my-app' }), prod);
  });
  test('option values', () => {
    assert.throws(() => normalizeClearOptions({ concurrency: 'x' }), invalid);
    assert.equal(normalizeClearOptions({ writers: 2 }).writers, 2);
  });
});
