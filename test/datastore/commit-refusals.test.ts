/**
 * The texts each backend refuses a Commit with (measured 2026-12-01 on dspipe's
 * emulator and Google's two, BACKENDS.md) read the same way whoever said them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetAfter, isEntityTooLarge, sizeRefusal } from '../../src/datastore/commit-refusals.js';

const rpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details });
const MiB = 1024 * 1024;

test('a request refused for its size, on each backend', () => {
  const big = { bytes: 5_400_270, cancelledByUs: false };
  // Firestore's emulator
  assert.deepEqual(sizeRefusal(rpc(8, 'gRPC message exceeds maximum size 4194304: 5400270'), big), { limit: 4194304 });
  // dspipe's emulator and production
  assert.deepEqual(sizeRefusal(rpc(3, 'Request payload size exceeds the limit: 10485760 bytes.'), { ...big, bytes: 11 * MiB }), { limit: 10485760 });
  // the legacy emulator says only this
  assert.deepEqual(sizeRefusal(rpc(1, 'Call cancelled'), big), {});
});

test('not a size refusal: other texts, our own cancel, a request no Datastore would cap', () => {
  const big = { bytes: 5 * MiB, cancelledByUs: false };
  assert.equal(sizeRefusal(rpc(8, 'Quota exceeded.'), big), undefined);
  assert.equal(sizeRefusal(rpc(3, 'maximum entity size is 1048576 bytes'), big), undefined);
  assert.equal(sizeRefusal(rpc(3, 'The value of property "s" is longer than 1048487 bytes.'), big), undefined);
  assert.equal(sizeRefusal(rpc(14, 'gRPC message exceeds maximum size 4194304: 5400270'), big), undefined);
  assert.equal(sizeRefusal(rpc(1, 'Call cancelled'), { ...big, cancelledByUs: true }), undefined);
  assert.equal(sizeRefusal(rpc(1, 'Call cancelled'), { ...big, bytes: 200_000 }), undefined);
});

test('the budget after a refusal: the stated limit less the envelope, else half; always below what was refused', () => {
  assert.equal(budgetAfter({ limit: 4194304 }, 5_400_270), 4194304 - 64 * 1024);
  assert.equal(budgetAfter({}, 5_400_270), 2_700_135);
  // a stated limit our count of the request does not reach: halve
  assert.equal(budgetAfter({ limit: 4194304 }, 4_000_000), 2_000_000);
  assert.equal(budgetAfter({}, 1), 1);
});

test('too large, in the words of each backend; rules broken are not', () => {
  for (const text of [
    'mutation 0: entity E("big") is too big: 1100057 bytes is over the limit of 1048572 bytes (Datastore storage size formula)',
    'The value of property "a" is longer than 1048487 bytes.',
    'maximum entity size is 1048576 bytes',
    'Request payload size exceeds the limit: 10485760 bytes.',
    'gRPC message exceeds maximum size 4194304: 5400270',
  ]) assert.ok(isEntityTooLarge(text), text);
  for (const text of [
    'The value of property "s" is longer than 1500 bytes.',
    'mutation 0 (I("i1501")): the value of property "s" is longer than 1500 bytes (set excludeFromIndexes on it to store longer strings)',
    'The Url value is longer than 2083 bytes.',
    'Value "p" has a meaning 22 which does not match blob_value field.',
    'Unknown value meaning 14.',
    'Unexpected value meaning 14.',
    'list_value cannot contain a Value containing another list_value.',
    'Exclude from indexes cannot be set on a list value',
    'Key path id is invalid. Must not be zero.',
  ]) assert.ok(!isEntityTooLarge(text), text);
});
