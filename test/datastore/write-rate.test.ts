/**
 * The write-rate limiter on a fake clock: hours of ramp, push-backs and
 * recovery, without waiting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteRateLimiter, type RateChange } from '../../src/datastore/write-rate.js';

const MIN = 60_000;

function fake(options: Partial<ConstructorParameters<typeof WriteRateLimiter>[0]> = {}) {
  let now = 1_000_000;
  const changes: RateChange[] = [];
  const limiter = new WriteRateLimiter({ ramp: true, clock: () => now, onChange: (c) => changes.push(c), ...options });
  return { limiter, changes, advance: (ms: number) => (now += ms), now: () => now };
}

/** Sends as fast as the limiter allows for `ms` of fake time in batches of `batch`; returns ops sent. */
function drive(f: ReturnType<typeof fake>, ms: number, batch: number): number {
  const end = f.now() + ms;
  let sent = 0;
  while (f.now() < end) {
    const wait = f.limiter.reserve(batch);
    f.advance(wait);
    if (f.now() >= end) break;
    sent += batch;
  }
  return sent;
}

test('ramp: 500/s at the start, +50% every 5 minutes, up to --max-rps', () => {
  const f = fake({ maxRps: 2000 });
  const at = (minutes: number) => f.limiter.rpsAt(1_000_000 + minutes * MIN);
  assert.equal(at(0), 500);
  assert.equal(at(4.99), 500);
  assert.equal(at(5), 750);
  assert.equal(at(10), 1125);
  assert.equal(at(15), 1687.5);
  assert.equal(at(20), 2000, 'capped at the ceiling');
  assert.equal(at(120), 2000);
  assert.deepEqual(f.changes.map((c) => [c.reason, c.rps]), [['start', 500], ['ramp', 750], ['ramp', 1125], ['ramp', 1687.5], ['ramp', 2000]]);
});

test('a ceiling under 500 is where the ramp starts; no ramp and no ceiling is no limit', () => {
  assert.equal(fake({ maxRps: 100 }).limiter.rpsAt(), 100);
  const off = fake({ ramp: false });
  assert.equal(off.limiter.rps, null);
  assert.equal(off.limiter.reserve(10_000), 0);
  assert.equal(off.limiter.reserve(10_000), 0, 'nothing waits without a limit');
  assert.equal(fake({ ramp: false, maxRps: 300 }).limiter.rpsAt(), 300);
});

test('reservations keep to the rate: over a minute at 500/s, 500 batches of 60 go out (±1 batch)', () => {
  const f = fake();
  assert.equal(f.limiter.reserve(50), 0, 'the first batch goes at once');
  f.advance(0);
  assert.equal(f.limiter.reserve(50), 100, 'the next waits for the 50 before it (50 / 500 s)');
  const g = fake();
  const sent = drive(g, MIN, 60);
  assert.ok(Math.abs(sent - 500 * 60) <= 60, `sent ${sent}`);
});

test('over 30 fake minutes the rate sent follows the ramp step by step', () => {
  const f = fake();
  const perStep: number[] = [];
  for (let i = 0; i < 6; i++) perStep.push(Math.round(drive(f, 5 * MIN, 100) / 300));
  const expected = [500, 750, 1125, 1687.5, 2531.25, 3796.875];
  perStep.forEach((r, i) => assert.ok(Math.abs(r / expected[i]! - 1) < 0.01, `step ${i}: ${r}/s sent, ${expected[i]}/s allowed`));
});

test('a push-back halves the rate from what was sent, once per episode, and the ramp goes on from there', () => {
  const f = fake();
  drive(f, 10 * MIN + 3000, 100); // 3 s at 1125/s: the 2 s window sees only those
  assert.equal(f.limiter.rpsAt(), 1125);
  assert.equal(f.limiter.throttled(), true);
  const after = f.limiter.rpsAt();
  assert.ok(after > 500 && after < 600, `about half of 1125 sent: ${after}`);
  assert.equal(f.limiter.throttled(), false, 'commits refused together count once');
  f.advance(1500);
  assert.equal(f.limiter.throttled(), true, 'a later one lowers it again');
  assert.ok(f.limiter.rpsAt() < after);
  const low = f.limiter.rpsAt();
  f.advance(5 * MIN);
  assert.equal(f.limiter.rpsAt(), low * 1.5, '+50% five minutes after the decrease');
  assert.equal(f.limiter.throttles, 2);
  assert.deepEqual(f.changes.filter((c) => c.reason === 'throttled').length, 2);
});

test('a push-back lowers from the rate actually sent when writers were slower than the limit', () => {
  const f = fake({ maxRps: 10_000, ramp: false });
  for (let i = 0; i < 20; i++) {
    f.limiter.reserve(10);
    f.advance(100); // 100/s, far under the limit
  }
  f.limiter.throttled();
  assert.equal(f.limiter.rpsAt(), 50);
});

test('ramp off: unlimited until Datastore pushes back, then slower, recovering +50% every 5 s up to the ceiling', () => {
  const f = fake({ ramp: false });
  for (let i = 0; i < 20; i++) {
    f.limiter.reserve(100);
    f.advance(100); // 1000/s
  }
  assert.equal(f.limiter.rps, null);
  f.limiter.throttled();
  assert.equal(f.limiter.rps, 500);
  f.advance(5000);
  assert.equal(f.limiter.rps, 750);
  f.advance(10_000);
  assert.equal(f.limiter.rps, 1687.5);
  assert.deepEqual(f.changes.map((c) => c.reason), ['start', 'throttled', 'recovered', 'recovered']);
});

test('never below minRps however often it is pushed back', () => {
  const f = fake({ minRps: 5 });
  for (let i = 0; i < 50; i++) {
    f.limiter.reserve(1);
    f.limiter.throttled();
    f.advance(2000);
  }
  assert.ok(f.limiter.rpsAt() >= 5);
});

test('summary: what a command reports', () => {
  const f = fake({ maxRps: 800 });
  f.limiter.reserve(10); // 10 ops measured over at least a second: 10/s sent, halved
  f.limiter.throttled();
  assert.deepEqual(f.limiter.summary(), { ramp: true, maxRps: 800, rps: 5, throttles: 1, ops: 10 });
});

test('bad settings are refused', () => {
  assert.throws(() => new WriteRateLimiter({ ramp: true, maxRps: 0 }), RangeError);
  assert.throws(() => new WriteRateLimiter({ ramp: true, decreaseFactor: 1 }), RangeError);
});

test('acquire waits for its turn and stops with the signal', async () => {
  const limiter = new WriteRateLimiter({ ramp: false, maxRps: 10 });
  await limiter.acquire(10);
  const stop = new AbortController();
  const waiting = limiter.acquire(1, stop.signal);
  stop.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
});

test('a push-back for a request sent before the last decrease changes nothing, however late it comes', () => {
  const f = fake({ ramp: false, maxRps: 1000, cooldownMs: 0 });
  const early = f.now();
  f.limiter.reserve(100);
  f.advance(500);
  assert.equal(f.limiter.throttled(f.now()), true);
  const lowered = f.limiter.rpsAt();
  f.advance(3000);
  assert.equal(f.limiter.throttled(early), false, 'sent at the old rate');
  assert.equal(f.limiter.rpsAt(), lowered);
  assert.equal(f.limiter.throttled(f.now()), true, 'sent at the new rate and refused: lower again');
});
