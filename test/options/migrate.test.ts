import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeMigrateOptions, normalizeRunOptions } from '../../src/options/migrate.js';
import { normalizeSchemaOptions } from '../../src/options/schema.js';
import { parseDrop } from '../../src/format/transforms.js';
import { isDspipeError } from '../../src/errors.js';

const invalid = (fn: () => unknown, re: RegExp) => assert.throws(fn, (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && re.test(err.message));

test('migrate options: validation', () => {
  invalid(() => normalizeMigrateOptions({ dir: ' ' }), /--dir is empty/);
  invalid(() => normalizeMigrateOptions({ to: '' }), /--to is empty/);
  invalid(() => normalizeMigrateOptions({ writers: 0 }), /--writers must be a whole number of at least 1, got 0/);
  invalid(() => normalizeMigrateOptions({ checkpointEvery: 1.5 }), /--checkpoint-every/);
  invalid(() => normalizeMigrateOptions({ dryRun: true, backup: true }), /--backup has no use with --dry-run/);
  invalid(() => normalizeMigrateOptions({ namespaces: 'a,,b' }), /--namespaces has an empty entry/);
  invalid(() => normalizeRunOptions({ transforms: [parseDrop('x')] }), /needs --kind/);
  invalid(() => normalizeRunOptions({ kind: '__kind__', transforms: [parseDrop('x')] }), /reserved kind/);
  invalid(() => normalizeRunOptions({ kind: 'User' }), /at least one transform/);
});

test('migrate options: defaults', () => {
  const o = normalizeMigrateOptions();
  assert.equal(o.dir, 'migrations');
  assert.equal(o.backupRoot, '_backup');
  assert.deepEqual([o.dryRun, o.backup, o.allowChanged, o.writers, o.batchSize, o.maxConflictAttempts, o.checkpointEvery, o.examples], [false, false, false, 4, 500, 20, 500, 3]);
  assert.equal(normalizeMigrateOptions({ to: '0002-x.ts' }).to, '0002-x');
  assert.equal(normalizeRunOptions({ kind: 'User', transforms: [parseDrop('x')] }).kind, 'User');
});

test('schema options', () => {
  invalid(() => normalizeSchemaOptions({ from: '' }), /--from is empty/);
  invalid(() => normalizeSchemaOptions({ from: '_backup/x', fast: true }), /--fast cannot be combined with --from/);
  invalid(() => normalizeSchemaOptions({ kinds: ',' }), /--kinds has an empty entry/);
  const o = normalizeSchemaOptions({ kinds: 'User' });
  assert.deepEqual([o.fast, o.snapshot, o.from], [false, true, undefined]);
});
