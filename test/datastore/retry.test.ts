import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withRetry } from '../../src/datastore/retry.js';

const rpc = (code: number, details: string) => Object.assign(new Error(details), { code, details });
const FAST = { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1, multiplier: 1 };

test('withRetry retries transient codes and fails at once on others', async () => {
  let calls = 0;
  assert.equal(await withRetry(async () => (++calls < 3 ? Promise.reject(rpc(14, 'unavailable')) : 'ok'), FAST), 'ok');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(withRetry(async () => (calls++, Promise.reject(rpc(3, 'bad'))), FAST), { code: 3 });
  assert.equal(calls, 1);
});

test('withRetry: `retryable` can refuse to retry an error of a transient code', async () => {
  let calls = 0;
  const seen: unknown[] = [];
  const tooBig = rpc(8, 'gRPC message exceeds maximum size 4194304: 5400270');
  const quota = rpc(8, 'Quota exceeded.');
  const retryable = (err: unknown) => (seen.push(err), !/exceeds maximum size/.test((err as Error).message));
  await assert.rejects(withRetry(async () => (calls++, Promise.reject(tooBig)), FAST, { retryable }), (err) => err === tooBig);
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(withRetry(async () => (calls++, Promise.reject(quota)), FAST, { retryable }), (err) => err === quota);
  assert.equal(calls, FAST.maxAttempts, 'other RESOURCE_EXHAUSTED errors are still retried');
  calls = 0;
  await assert.rejects(withRetry(async () => (calls++, Promise.reject(rpc(3, 'bad'))), FAST, { retryable }));
  assert.equal(seen.filter((e) => (e as { code: number }).code === 3).length, 0, 'asked only about transient errors');
});
