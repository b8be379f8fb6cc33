/**
 * The adaptive write rate end to end: dspipe's emulator answers
 * RESOURCE_EXHAUSTED above --max-write-rps, and restore and clear slow down
 * until they fit and still write everything. With few, quick retries and no
 * adaptation the same runs give up (the control case), so the tests can fail.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { dspipeOnly } from '../helpers/backend.js';
import { seedKind } from '../stages/seed.js';
import { dump } from '../../src/commands/dump.js';
import { restore, type RestoreEvent } from '../../src/commands/restore.js';
import { clear, type ClearEvent } from '../../src/commands/clear.js';
import { isDspipeError } from '../../src/errors.js';
import { migrateRun, type MigrateEvent } from '../../src/commands/migrate.js';
import { parseDrop } from '../../src/format/transforms.js';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createEntityWriter } from '../../src/stages/entity-writer.js';
import { WriteRateLimiter } from '../../src/datastore/write-rate.js';
import type { WriteOp } from '../../src/format/batching.js';
import { readAll } from './restore-fixtures.js';

/** dspipe's emulator is started here whatever DSPIPE_TEST_BACKEND says (its --max-write-rps): run once, on the dspipe pass. */
const ONLY = dspipeOnly('uses dspipe\'s own emulator (--max-write-rps) on every backend pass; run on the dspipe one');
const LIMIT = 400;
const PER_KIND = 400;
const KINDS = ['A', 'B', 'C'];
/** Retries that give up after ~0.3 s of refusals: only a client that slows down gets through. */
const SHORT_RETRY = { maxAttempts: 6, initialDelayMs: 20, maxDelayMs: 100, multiplier: 2 };

let source: TestEmulator;
let limited: TestEmulator;
let root: string;

before(async () => {
  source = await startTestEmulator({ projectId: 'rate-app' });
  limited = await startTestEmulator({ projectId: 'rate-app', maxWriteRps: LIMIT });
  root = await mkdtemp(join(tmpdir(), 'dspipe-rate-'));
  for (const kind of KINDS) await seedKind(source, '', kind, PER_KIND);
  await dump({ root, name: 'src' }, { connection: source.connection, client: source.client });
});
after(async () => {
  await source.close();
  await limited.close();
  await rm(root, { recursive: true, force: true });
});

test('restore against a write limit: slows below it, retries, and writes every entity', ONLY, async () => {
  const events: RestoreEvent[] = [];
  const result = await restore(
    { root, name: 'src', writers: 4, concurrency: 3, batchSize: 100 },
    { connection: limited.connection, client: limited.client, retry: SHORT_RETRY, onEvent: (e) => events.push(e) },
  );
  assert.equal(result.written, KINDS.length * PER_KIND);
  assert.equal((await readAll(limited.client, limited.connection)).length, KINDS.length * PER_KIND);
  assert.ok(limited.emulator.writesRefused() > 0, 'the emulator pushed back');
  assert.ok(result.writeRate !== null && result.writeRate.throttles > 0, JSON.stringify(result.writeRate));
  assert.equal(result.writeRate!.ramp, false, 'no ramp against an emulator by default');
  const rates = events.filter((e) => e.type === 'rate');
  assert.deepEqual(rates[0], { type: 'rate', rps: null, reason: 'start', ramp: false });
  const throttled = rates.filter((e) => e.reason === 'throttled');
  assert.ok(throttled.length > 0);
  assert.ok(throttled.some((e) => e.rps !== null && e.rps < LIMIT), `slowed under ${LIMIT}/s: ${JSON.stringify(throttled)}`);
});

test('clear against a write limit: slows down and deletes every entity', ONLY, async () => {
  const events: ClearEvent[] = [];
  const refusedBefore = limited.emulator.writesRefused();
  const result = await clear({ yes: true, writers: 4, batchSize: 100 }, { connection: limited.connection, client: limited.client, retry: SHORT_RETRY, onEvent: (e) => events.push(e) });
  assert.equal(result.deleted, KINDS.length * PER_KIND);
  assert.equal((await readAll(limited.client, limited.connection)).length, 0);
  assert.ok(limited.emulator.writesRefused() > refusedBefore);
  assert.ok(result.writeRate.throttles > 0);
  assert.ok(events.some((e) => e.type === 'rate' && e.reason === 'throttled'));
});

test('a --max-rps under the limit is never pushed back', ONLY, async () => {
  await new Promise((r) => setTimeout(r, 1100)); // the emulator's one-second window forgets the writes of the test before
  const refusedBefore = limited.emulator.writesRefused();
  const result = await restore({ root, name: 'src', kinds: 'A', batchSize: 50, maxRps: LIMIT / 2 }, { connection: limited.connection, client: limited.client, retry: SHORT_RETRY });
  assert.equal(result.written, PER_KIND);
  assert.equal(limited.emulator.writesRefused(), refusedBefore);
  assert.deepEqual({ ...result.writeRate, ops: 0 }, { ramp: false, maxRps: LIMIT / 2, rps: LIMIT / 2, throttles: 0, ops: 0 });
  assert.equal(result.writeRate!.ops, PER_KIND);
});

test('control: the same writes without the adaptive rate run out of retries', ONLY, async () => {
  const fast = await startTestEmulator({ projectId: 'rate-app', maxWriteRps: LIMIT });
  const batches = () => Array.from({ length: 12 }, (_, i) => Array.from({ length: 100 }, (_, j): WriteOp => ({ op: 'upsert', entity: { key: { path: [{ kind: 'X', name: `${i}-${j}` }] }, properties: {} } })));
  try {
    const plain = createEntityWriter(fast.client, fast.connection, { writers: 12, retry: SHORT_RETRY });
    await assert.rejects(pipeline(Readable.from(batches()), plain), (err: unknown) => isDspipeError(err, 'DSPIPE_RPC_FAILED') && /exhausted/i.test(err.message));
    await new Promise((r) => setTimeout(r, 1100)); // the emulator's window empties
    const adaptive = createEntityWriter(fast.client, fast.connection, { writers: 12, retry: SHORT_RETRY, rate: new WriteRateLimiter({ ramp: false }) });
    await pipeline(Readable.from(batches()), adaptive);
    assert.equal(adaptive.written, 1200);
  } finally {
    await fast.close();
  }
});

test('migrate run against a write limit: slows down and rewrites every entity', ONLY, async () => {
  // Loaded from the dump before serving (no commits), so only the migration's writes meet the limit.
  const m = await startTestEmulator({ projectId: 'rate-app', maxWriteRps: LIMIT, importFrom: join(root, 'src') });
  try {
    const events: MigrateEvent[] = [];
    const report = await migrateRun(
      { kind: 'A', transforms: [parseDrop('s')], writers: 4, batchSize: 100 },
      { connection: m.connection, client: m.client, retry: SHORT_RETRY, onEvent: (e) => events.push(e) },
    );
    assert.equal(report.counts.changed, PER_KIND);
    const left = (await readAll(m.client, m.connection)).filter((e) => e.key!.path!.at(-1)!.kind === 'A');
    assert.equal(left.filter((e) => e.properties!.s === undefined).length, PER_KIND, 'every entity rewritten');
    assert.ok(m.emulator.writesRefused() > 0);
    assert.ok(report.writeRate !== null && report.writeRate.throttles > 0, JSON.stringify(report.writeRate));
    assert.ok(events.some((e) => e.type === 'rate' && e.reason === 'throttled'));
  } finally {
    await m.close();
  }
});

test('--max-rps and --ramp are checked like every option', ONLY, async () => {
  await assert.rejects(restore({ root, name: 'src', maxRps: 0 }, { connection: limited.connection }), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--max-rps/.test(err.message) && /0/.test(err.message));
  await assert.rejects(clear({ yes: true, ramp: 'fast' }, { connection: limited.connection }), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /--ramp/.test(err.message) && /"fast"/.test(err.message));
});
