import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCommandContext } from '../../src/commands/context.js';
import type { DatastoreClient } from '../../src/datastore/connection.js';
import { DEFAULT_RETRY } from '../../src/datastore/retry.js';
import { isDspipeError } from '../../src/errors.js';

const emulator = { emulatorHost: 'localhost:1', projectId: 'ctx-app' };

test('the connection is resolved on first use only: a command that reads files needs no project', async () => {
  const saved = { ...process.env };
  delete process.env.DATASTORE_EMULATOR_HOST;
  delete process.env.DATASTORE_PROJECT_ID;
  delete process.env.GOOGLE_CLOUD_PROJECT;
  try {
    assert.equal(await withCommandContext({}, async () => 'read files only'), 'read files only');
    await assert.rejects(withCommandContext({}, async (ctx) => ctx.connection), (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION'));
  } finally {
    Object.assign(process.env, saved);
  }
  const connection = await withCommandContext({ connection: emulator }, async (ctx) => ctx.connection);
  assert.deepEqual(connection, { projectId: 'ctx-app', databaseId: '', emulatorHost: 'localhost:1' });
});

test('a client it creates is created once and closed at the end; a given client is used and never closed', async () => {
  let closed = 0;
  const same = await withCommandContext({ connection: emulator }, async (ctx) => {
    const client = ctx.client;
    const close = client.close.bind(client);
    client.close = () => (closed++, close());
    return ctx.client === client;
  });
  assert.ok(same);
  assert.equal(closed, 1);

  let givenClosed = false;
  const given = { close: async () => void (givenClosed = true) } as unknown as DatastoreClient;
  await withCommandContext({ client: given, connection: emulator }, async (ctx) => assert.equal(ctx.client, given));
  assert.equal(givenClosed, false);
});

test('a created client is closed when the command fails too', async () => {
  let closed = 0;
  await assert.rejects(
    withCommandContext({ connection: emulator }, async (ctx) => {
      const client = ctx.client;
      const close = client.close.bind(client);
      client.close = () => (closed++, close());
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(closed, 1);
});

test('retry: DEFAULT_RETRY with the given fields, each checked before the command starts', async () => {
  assert.deepEqual(await withCommandContext({}, async (ctx) => ctx.retry), DEFAULT_RETRY);
  assert.deepEqual(await withCommandContext({ retry: { maxAttempts: 3 } }, async (ctx) => ctx.retry), { ...DEFAULT_RETRY, maxAttempts: 3 });
  let ran = false;
  await assert.rejects(
    withCommandContext({ retry: { maxAttempts: 0 } }, async () => void (ran = true)),
    (err) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /retry\.maxAttempts/.test(err.message),
  );
  assert.equal(ran, false);
});

test('the signal follows the caller\'s and is aborted once the command ends', async () => {
  const controller = new AbortController();
  const reason = new Error('stop');
  const seen = await withCommandContext({ signal: controller.signal }, async (ctx) => {
    assert.equal(ctx.signal.aborted, false);
    controller.abort(reason);
    assert.equal(ctx.signal.reason, reason);
    return ctx.signal;
  });
  assert.ok(seen.aborted);
  const own = await withCommandContext({}, async (ctx) => (assert.equal(ctx.signal.aborted, false), ctx.signal));
  assert.ok(own.aborted, 'no caller signal: still one that ends with the command');
});

test('emit hands events to onEvent, and does nothing without one', async () => {
  const events: Array<{ type: string }> = [];
  await withCommandContext<{ type: string }, void>({ onEvent: (e) => events.push(e) }, async (ctx) => {
    ctx.emit({ type: 'start' });
    ctx.emit({ type: 'kind-done' });
  });
  assert.deepEqual(events.map((e) => e.type), ['start', 'kind-done']);
  await withCommandContext<{ type: string }, void>(undefined, async (ctx) => ctx.emit({ type: 'start' }));
});

test('a command stopped by the caller rejects with the caller\'s reason, not the AbortError it met', async () => {
  const controller = new AbortController();
  const reason = new Error('interrupted');
  await assert.rejects(
    withCommandContext({ signal: controller.signal }, async (ctx) => {
      controller.abort(reason);
      ctx.signal.throwIfAborted();
      throw new DOMException('stopped', 'AbortError');
    }),
    (err) => err === reason,
  );
  // Without an abort, errors pass as they are, AbortErrors too.
  const own = new DOMException('not ours', 'AbortError');
  await assert.rejects(withCommandContext({}, async () => { throw own; }), (err) => err === own);
});
