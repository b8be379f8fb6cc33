import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEmulatorOptions, DEFAULT_EMULATOR_PORT } from '../../src/options/emulator.js';
import { refusalTests, type Refusal } from './refusals.js';

type Input = Parameters<typeof normalizeEmulatorOptions>[0];

describe('emulator options: refusals', () => {
  const refusals: Refusal<Input>[] = [
    ['a port over 65535', { port: '65536' }, '--port', 'port', '"65536"'],
    ['a port in words', { port: 'http' }, '--port', 'port', '"http"'],
    ['an empty host', { host: '' }, '--host', 'host', '""'],
    ['a negative latency', { latencyMs: '-1' }, '--latency-ms', 'latencyMs', '"-1"'],
    ['a latency in words', { latencyMs: 'slow' }, '--latency-ms', 'latencyMs', '"slow"'],
    ['a fail rate over 1', { faults: { rate: '3' } }, '--fail-rate', 'faults.rate', '"3"'],
    ['an empty fail rate', { faults: { rate: '' } }, '--fail-rate', 'faults.rate', '""'],
    ['a fractional seed', { faults: { rate: 0.1, seed: '1.5' } }, '--seed', 'faults.seed', '"1.5"'],
  ];
  refusalTests((input: Input) => normalizeEmulatorOptions(input), refusals);
});

test('emulator options: defaults, and what startEmulator() takes', () => {
  assert.deepEqual(normalizeEmulatorOptions(), { port: DEFAULT_EMULATOR_PORT, host: 'localhost' });
  assert.deepEqual(normalizeEmulatorOptions({ port: '0', host: '::1', latencyMs: '2.5', faults: { rate: '0.25', seed: '-7' } }),
    { port: 0, host: '::1', latencyMs: 2.5, faults: { rate: 0.25, seed: -7 } });
  // A seed alone changes nothing: there are no faults to seed.
  assert.deepEqual(normalizeEmulatorOptions({ faults: { seed: '7' } }), { port: DEFAULT_EMULATOR_PORT, host: 'localhost' });
});
