import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteLimit } from '../../src/emulator/write-limit.js';
import { normalizeEmulatorOptions } from '../../src/options/emulator.js';
import { isDspipeError } from '../../src/errors.js';

test('--max-write-rps: commits over N mutations in the last second are refused with RESOURCE_EXHAUSTED', () => {
  let now = 0;
  const limit = new WriteLimit(100, () => now);
  limit.admit(60);
  assert.throws(() => limit.admit(60), (err: { code?: number; message?: string }) => err.code === 8 && /exhausted/.test(err.message ?? ''));
  limit.admit(40);
  now = 999;
  assert.throws(() => limit.admit(1));
  now = 1000;
  limit.admit(100);
  assert.equal(limit.refused, 2);
});

test('--max-write-rps: a commit larger than N alone goes through after a quiet second', () => {
  let now = 0;
  const limit = new WriteLimit(100, () => now);
  limit.admit(500);
  now = 500;
  assert.throws(() => limit.admit(500));
  now = 1000;
  limit.admit(500);
});

test('--max-write-rps is a whole number above 0', () => {
  assert.equal(normalizeEmulatorOptions({ maxWriteRps: '250' }).maxWriteRps, 250);
  assert.equal(normalizeEmulatorOptions({}).maxWriteRps, undefined);
  assert.throws(() => normalizeEmulatorOptions({ maxWriteRps: '0' }), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--max-write-rps/.test(err.message));
  assert.throws(() => new WriteLimit(0), RangeError);
});
