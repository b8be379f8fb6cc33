import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeMigrateOptions, normalizeRunOptions, normalizeUpOptions } from '../../src/options/migrate.js';
import { parseDrop } from '../../src/format/transforms.js';
import { isDspipeError } from '../../src/errors.js';
import { refusalTests, type Conflict, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeRunOptions>[0];
const run = (extra: Input): Input => ({ kind: 'User', transforms: [parseDrop('x')], ...extra });

describe('migrate options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['a blank --dir', { dir: ' ' }, '--dir', 'dir', '" "'],
    ['an empty --to', { to: '' }, '--to', 'to', '""'],
    ['a --to with a slash', { to: 'migrations/0002-x' }, '--to', 'to', '"migrations/0002-x"'],
    ['writers 0', { writers: 0 }, '--writers', 'writers', '0'],
    ['writers in words (the CLI passes the text)', { writers: 'many' }, '--writers', 'writers', '"many"'],
    ['writers 257', { writers: 257 }, '--writers', 'writers', '257'],
    ['batch size 0', { batchSize: '0' }, '--batch-size', 'batchSize', '"0"'],
    ['max conflict attempts 0', { maxConflictAttempts: 0 }, '--max-conflict-attempts', 'maxConflictAttempts', '0'],
    ['a fractional checkpoint', { checkpointEvery: 1.5 }, '--checkpoint-every', 'checkpointEvery', '1.5'],
    ['negative examples', { examples: -1 }, '--examples', 'examples', '-1'],
    ['page size 0', { pageSize: 0 }, '--page-size', 'pageSize', '0'],
    ['page size in words', { pageSize: 'lots' }, '--page-size', 'pageSize', '"lots"'],
    ['an empty namespaces entry', { namespaces: 'a,,b' }, '--namespaces', 'namespaces', '"a,,b"'],
    ['an empty backup root', { backupRoot: '' }, '--backup-root', 'backupRoot', '""'],
    ['dry run as text', { dryRun: 'yes' as never }, '--dry-run', 'dryRun', '"yes"'],
    ['allow changed as a number', { allowChanged: 1 as never }, '--allow-changed', 'allowChanged', '1'],
    ['a reserved kind', run({ kind: '__kind__' }), '--kind', 'kind', '"__kind__"'],
    ['a blank kind', run({ kind: ' ' }), '--kind', 'kind', '" "'],
    ['a transform without a type', run({ transforms: [{} as never] }), 'transforms[0].type', 'transforms[0].type', 'null'],
  ];
  const conflicts: Conflict<Input>[] = [
    ['--backup with --dry-run', { dryRun: true, backup: true }, ['--backup', '--dry-run'], ['backup', 'dryRun']],
    ['migrate run without --kind', { transforms: [parseDrop('x')] }, ['--kind'], ['kind']],
    ['migrate run without a transform', { kind: 'User' }, ['a transform (--rename, --drop, --convert or --set)'], ['transforms']],
  ];
  refusalTests((input: Input) => (input.kind !== undefined || input.transforms !== undefined ? normalizeRunOptions(input) : normalizeMigrateOptions(input)), refusals, conflicts);

  test('migrate up cannot be limited to namespaces, except in a dry run', () => {
    assert.throws(() => normalizeUpOptions({ namespaces: 'tenant-a' }), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--namespaces "tenant-a" cannot limit migrate up .*\(library option: namespaces\)/.test(err.message));
    assert.equal(normalizeUpOptions({ namespaces: 'tenant-a', dryRun: true }).dryRun, true);
  });
});

test('migrate options: defaults', () => {
  const o = normalizeMigrateOptions();
  assert.equal(o.dir, 'migrations');
  assert.equal(o.backupRoot, '_backup');
  assert.deepEqual([o.dryRun, o.backup, o.allowChanged, o.writers, o.batchSize, o.maxConflictAttempts, o.checkpointEvery, o.examples], [false, false, false, 4, 500, 20, 500, 3]);
  assert.equal(o.pageSize, undefined);
  assert.equal(normalizeMigrateOptions({ to: '0002-x.ts' }).to, '0002-x');
  assert.equal(normalizeRunOptions({ kind: 'User', transforms: [parseDrop('x')] }).kind, 'User');
});

test('migrate options: the CLI\'s text and the library\'s numbers normalise alike', () => {
  const text = normalizeMigrateOptions({ writers: '2', batchSize: '50', maxConflictAttempts: '5', checkpointEvery: '100', examples: '0', pageSize: '40' });
  const numbers = normalizeMigrateOptions({ writers: 2, batchSize: 50, maxConflictAttempts: 5, checkpointEvery: 100, examples: 0, pageSize: 40 });
  assert.deepEqual(text, numbers);
  assert.deepEqual([numbers.examples, numbers.pageSize], [0, 40]);
  assert.equal(normalizeMigrateOptions({ checkpointEvery: 1_000_000 }).checkpointEvery, 1_000_000);
});
