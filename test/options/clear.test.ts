import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDspipeError } from '../../src/errors.js';
import { checkClearConfirmation, normalizeClearOptions, DEFAULT_CLEAR_CONCURRENCY } from '../../src/options/clear.js';
import { DEFAULT_MAX_BATCH_OPS } from '../../src/format/batching.js';
import { refusalTests, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeClearOptions>[0];

describe('clear options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['concurrency in words', { concurrency: 'x' }, '--concurrency', 'concurrency', '"x"'],
    ['writers 0', { writers: 0 }, '--writers', 'writers', '0'],
    ['batch size 100001', { batchSize: '100001' }, '--batch-size', 'batchSize', '"100001"'],
    ['yes as text', { yes: 'yes' as never }, '--yes', 'yes', '"yes"'],
    ['an empty project to confirm', { confirmProject: '' }, '--project', 'confirmProject', '""'],
    ['an empty namespaces entry', { namespaces: ['a', ''] }, '--namespaces', 'namespaces', '["a",""]'],
  ];
  refusalTests((input: Input) => normalizeClearOptions(input), refusals);
});

test('clear options: defaults and numbers from strings', () => {
  const o = normalizeClearOptions({});
  assert.deepEqual([o.yes, o.confirmProject, o.concurrency, o.writers, o.batchSize], [false, undefined, DEFAULT_CLEAR_CONCURRENCY, 4, DEFAULT_MAX_BATCH_OPS]);
  assert.equal(normalizeClearOptions({ writers: 2 }).writers, 2);
  assert.equal(normalizeClearOptions({ batchSize: '50' }).batchSize, 50);
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
});
