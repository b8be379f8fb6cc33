import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runKinds } from '../../src/commands/kind-scheduler.js';

/** A task that waits `ms` (or until stopped) and records what it saw. */
function recorder() {
  const log = { started: [] as number[], finished: [] as number[], stopped: [] as number[], running: 0, most: 0 };
  const task = (ms: number, fail?: Error) => async (item: number, signal: AbortSignal) => {
    log.started.push(item);
    log.most = Math.max(log.most, ++log.running);
    try {
      await sleep(ms, undefined, { signal });
      if (fail) throw fail;
      log.finished.push(item);
    } catch (err) {
      if (signal.aborted) log.stopped.push(item);
      throw err;
    } finally {
      log.running--;
    }
  };
  return { log, task };
}

test('runs every item, in order, at most `concurrency` at once', async () => {
  const { log, task } = recorder();
  const indexes: number[] = [];
  await runKinds([1, 2, 3, 4, 5, 6, 7], { concurrency: 3 }, async (item, signal, index) => {
    indexes.push(index);
    await task(item % 2 === 0 ? 5 : 1)(item, signal);
  });
  assert.deepEqual(log.started, [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...log.finished].sort(), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(indexes, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(log.most, 3);
});

test('an empty list resolves; concurrency 1 runs one after the other', async () => {
  await runKinds([], { concurrency: 4 }, async () => assert.fail('no items'));
  const { log, task } = recorder();
  await runKinds([1, 2, 3], { concurrency: 1 }, task(1));
  assert.deepEqual(log.finished, [1, 2, 3]);
  assert.equal(log.most, 1);
});

test('the first failure stops the running tasks, starts no more, and is what the run rejects with', async () => {
  const { log, task } = recorder();
  const boom = new Error('boom');
  const told: Array<[unknown, number]> = [];
  await assert.rejects(
    runKinds([1, 2, 3, 4, 5], { concurrency: 2, onFailure: (err, item) => told.push([err, item]) }, (item, signal) =>
      item === 1 ? task(2, boom)(item, signal) : task(1000)(item, signal),
    ),
    (err) => err === boom,
  );
  assert.deepEqual(log.started, [1, 2], 'nothing starts after the failure');
  assert.deepEqual(log.stopped, [2], 'the running task saw the stop');
  assert.deepEqual(told, [[boom, 1]], 'told once, about the failure itself');
});

test('the caller\'s signal stops every task; the run rejects with its reason, not a failure', async () => {
  const { log, task } = recorder();
  const controller = new AbortController();
  const reason = new Error('interrupted');
  const run = runKinds([1, 2, 3, 4], { concurrency: 2, signal: controller.signal, onFailure: () => assert.fail('an abort is not a failure') }, task(1000));
  await sleep(5);
  controller.abort(reason);
  await assert.rejects(run, (err) => err === reason);
  assert.deepEqual(log.started, [1, 2]);
  assert.deepEqual(log.stopped.sort(), [1, 2]);
  assert.equal(log.running, 0);
});

test('an already aborted signal starts nothing', async () => {
  const reason = new Error('before the start');
  let started = 0;
  await assert.rejects(
    runKinds([1, 2], { concurrency: 2, signal: AbortSignal.abort(reason) }, async () => void started++),
    (err) => err === reason,
  );
  assert.equal(started, 0);
});

test('a task that ignores the signal still ends the run with the first failure once it settles', async () => {
  const boom = new Error('boom');
  let slowDone = false;
  await assert.rejects(
    runKinds([1, 2], { concurrency: 2 }, async (item) => {
      if (item === 1) throw boom;
      await sleep(20);
      slowDone = true;
    }),
    (err) => err === boom,
  );
  assert.ok(slowDone, 'the run waits for every started task');
});
