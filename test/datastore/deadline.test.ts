/**
 * An endpoint that accepts TCP and never answers: every RPC has a deadline,
 * the CLI says what it is waiting for after a few seconds, and the command
 * fails after one deadline with the host named — not after ten silent
 * retries of gax's 60 s default.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { dump } from '../../src/commands/dump.js';
import { isDspipeError } from '../../src/errors.js';
import { dspipe } from '../cli/restore-cli-helpers.js';
import { withDeadlines, WAIT_NOTICE_MS } from '../../src/datastore/deadline.js';

let server: Server;
let host: string;
const sockets = new Set<Socket>();
before(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('the CLI says it is waiting for the host, then fails after one deadline naming it', async () => {
  const started = Date.now();
  const r = await dspipe(['dump', '--emulator-host', host, '--namespaces', '(default)', '--out', '-', '--rpc-timeout', '7']);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 1, r.stderr);
  assert.ok(seconds < 25, `failed after ${seconds} s`);
  assert.match(r.stderr, new RegExp(`dspipe: waiting for ${host} \\(\\w+ unanswered for 5 s\\)`));
  assert.match(r.stderr, new RegExp(`no answer from ${host}: \\w+ waited 7(\\.\\d)? s`));
  assert.match(r.stderr, /hint: check the host and port/);
});

test('the library: rpcTimeoutMs is the deadline; the failure is DSPIPE_RPC_FAILED, not retried', async () => {
  const started = Date.now();
  const err = await dump({ out: '-', namespaces: ['(default)'], output: { write: () => true } as never }, { connection: { emulatorHost: host, rpcTimeoutMs: 1500 } })
    .then(() => assert.fail('expected a failure'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_RPC_FAILED'), String(err));
  assert.match(err.message, new RegExp(`no answer from ${host}`));
  assert.ok(Date.now() - started < 10_000, 'one deadline, no retries');
});

test('withDeadlines: a caller\'s own timeout is kept; notices come at most once per interval; answers clear the timer', async () => {
  const seen: Array<Record<string, unknown> | undefined> = [];
  const fake = {
    commit: (_r: unknown, o?: Record<string, unknown>) => (seen.push(o), Promise.resolve(['ok'])),
    other: () => 'untouched',
  };
  const notices: string[] = [];
  const c = withDeadlines(fake, { host: 'h:1', timeoutMs: 1234, onWaiting: (n) => notices.push(n.method) });
  assert.deepEqual(await c.commit({}, { retry: null }), ['ok']);
  assert.deepEqual(await c.commit({}, { timeout: 99 }), ['ok']);
  assert.deepEqual(seen, [{ retry: null, timeout: 1234 }, { timeout: 99 }]);
  assert.equal(c.other(), 'untouched');
  assert.ok(WAIT_NOTICE_MS >= 2000 && WAIT_NOTICE_MS <= 10_000);
  assert.deepEqual(notices, []);
});
