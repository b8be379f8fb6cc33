import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeWriteRate, resolveRamp } from '../../src/options/write-rate.js';
import { isDspipeError } from '../../src/errors.js';

const refused = (flag: string, value: string) => (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && err.message.includes(flag) && err.message.includes(value);

test('--max-rps and --ramp: bad values are refused, quoted', () => {
  assert.throws(() => normalizeWriteRate({ maxRps: '0' }), refused('--max-rps', '"0"'));
  assert.throws(() => normalizeWriteRate({ maxRps: '1.5' }), refused('--max-rps', '"1.5"'));
  assert.throws(() => normalizeWriteRate({ ramp: 'yes' }), refused('--ramp', '"yes"'));
});

test('defaults: no ceiling, ramp auto; booleans and words both work', () => {
  assert.deepEqual(normalizeWriteRate({}), { maxRps: undefined, ramp: 'auto' });
  assert.deepEqual(normalizeWriteRate({ maxRps: '800', ramp: 'off' }), { maxRps: 800, ramp: 'off' });
  assert.equal(normalizeWriteRate({ ramp: true }).ramp, 'on');
  assert.equal(normalizeWriteRate({ ramp: false }).ramp, 'off');
});

test('ramp auto: on against production, off against an emulator; on/off win', () => {
  const auto = normalizeWriteRate({});
  assert.equal(resolveRamp(auto, {}), true);
  assert.equal(resolveRamp(auto, { emulatorHost: 'localhost:8081' }), false);
  assert.equal(resolveRamp(normalizeWriteRate({ ramp: 'on' }), { emulatorHost: 'localhost:8081' }), true);
  assert.equal(resolveRamp(normalizeWriteRate({ ramp: 'off' }), {}), false);
});
