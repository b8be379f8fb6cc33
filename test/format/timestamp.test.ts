import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestamp, parseTimestamp } from '../../src/format/timestamp.js';
import { MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from '../../src/model/limits.js';

test('the range ends and the epoch', () => {
  assert.equal(formatTimestamp(MIN_TIMESTAMP_SECONDS, 0), '0001-01-01T00:00:00.000000Z');
  assert.equal(formatTimestamp(MAX_TIMESTAMP_SECONDS, 999999999), '9999-12-31T23:59:59.999999Z');
  assert.equal(formatTimestamp(0, 0), '1970-01-01T00:00:00.000000Z');
  assert.equal(formatTimestamp(-1, 999999000), '1969-12-31T23:59:59.999999Z');
  assert.deepEqual(parseTimestamp('0001-01-01T00:00:00.000000Z'), { seconds: MIN_TIMESTAMP_SECONDS, nanos: 0 });
  assert.deepEqual(parseTimestamp('9999-12-31T23:59:59.999999Z'), { seconds: MAX_TIMESTAMP_SECONDS, nanos: 999999000 });
  assert.deepEqual(parseTimestamp('1969-12-31T23:59:59.999999Z'), { seconds: -1, nanos: 999999000 });
});

test('agrees with Date on every month edge of 0001..9999 (sampled) and on random instants', () => {
  const check = (ms: number, micros: number) => {
    const seconds = Math.floor(ms / 1000);
    const nanos = (ms - seconds * 1000) * 1000000 + micros * 1000;
    const text = formatTimestamp(seconds, nanos);
    const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 0..9999
    assert.equal(text, iso.slice(0, 23) + String(micros).padStart(3, '0') + 'Z');
    assert.deepEqual(parseTimestamp(text), { seconds, nanos });
  };
  for (let year = 1; year <= 9999; year += 7) {
    for (let month = 0; month < 12; month++) {
      const d = new Date(0);
      d.setUTCFullYear(year, month, 1);
      d.setUTCHours(0, 0, 0, 0);
      check(d.getTime(), 0);
      if (d.getTime() > MIN_TIMESTAMP_SECONDS * 1000) check(d.getTime() - 1, 999);
    }
  }
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 5000; i++) {
    const ms = Math.floor(MIN_TIMESTAMP_SECONDS * 1000 + rand() * (MAX_TIMESTAMP_SECONDS - MIN_TIMESTAMP_SECONDS) * 1000);
    check(ms, Math.floor(rand() * 1000));
  }
});

test('sub-microsecond nanos are truncated (Datastore rounds down)', () => {
  assert.equal(formatTimestamp(0, 999), '1970-01-01T00:00:00.000000Z');
  assert.equal(formatTimestamp(-1, 999999999), '1969-12-31T23:59:59.999999Z');
  assert.deepEqual(parseTimestamp('1970-01-01T00:00:00.000000999Z'), { seconds: 0, nanos: 0 });
  assert.deepEqual(parseTimestamp('1970-01-01T00:00:00.5Z'), { seconds: 0, nanos: 500000000 });
});

test('refuses what Datastore never writes', () => {
  for (const bad of [
    '',
    '1970-01-01T00:00:00',
    '1970-01-01t00:00:00Z',
    '1970-01-01T00:00:00.Z',
    '1970-01-01T00:00:00.0000000000Z',
    '1970-01-01T00:00:00+00:00',
    '+1970-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '1970-13-01T00:00:00Z',
    '1970-00-01T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '1970-04-31T00:00:00Z',
    '1970-01-01T24:00:00Z',
    '1970-01-01T00:60:00Z',
    '1970-01-01T00:00:60Z',
  ]) {
    assert.equal(typeof parseTimestamp(bad), 'string', bad);
  }
  assert.deepEqual(parseTimestamp('2000-02-29T00:00:00Z'), { seconds: 951782400, nanos: 0 });
});
