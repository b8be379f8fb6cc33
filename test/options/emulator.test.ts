import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeEmulatorOptions, parseHostPort, DEFAULT_EMULATOR_PORT, DEFAULT_EMULATOR_PROJECT } from '../../src/options/emulator.js';
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
    ['a host-port that is not one', { hostPort: 'a:b:c' }, '--host-port', 'hostPort', '"a:b:c"'],
    ['a consistency over 1', { consistency: '1.5' }, '--consistency', 'consistency', '"1.5"'],
    ['an empty project', { projectId: '' }, '--project', 'projectId', '""'],
    ['store-on-disk without a data dir', { storeOnDisk: true }, '--store-on-disk', 'storeOnDisk', 'true'],
  ];
  refusalTests((input: Input) => normalizeEmulatorOptions(input), refusals);
});

test('emulator options: defaults, and what startEmulator() takes', () => {
  const base = { port: DEFAULT_EMULATOR_PORT, host: 'localhost', projectId: DEFAULT_EMULATOR_PROJECT };
  assert.deepEqual(normalizeEmulatorOptions(), base);
  assert.deepEqual(normalizeEmulatorOptions({ port: '0', host: '::1', latencyMs: '2.5', faults: { rate: '0.25', seed: '-7' } }),
    { ...base, port: 0, host: '::1', latencyMs: 2.5, faults: { rate: 0.25, seed: -7 } });
  // A seed alone changes nothing: there are no faults to seed.
  assert.deepEqual(normalizeEmulatorOptions({ faults: { seed: '7' } }), base);
});

test("emulator options: gcloud's flags", () => {
  assert.deepEqual(parseHostPort('localhost:8081'), { host: 'localhost', port: '8081' });
  assert.deepEqual(parseHostPort('[::1]:9000'), { host: '::1', port: '9000' });
  assert.deepEqual(parseHostPort('[::1]'), { host: '::1' });
  assert.deepEqual(parseHostPort(':9000'), { port: '9000' });
  assert.deepEqual(parseHostPort('0.0.0.0'), { host: '0.0.0.0' });
  assert.deepEqual(parseHostPort('9000'), { port: '9000' });
  assert.equal(parseHostPort('a:b:c'), undefined);
  const o = normalizeEmulatorOptions({ hostPort: '127.0.0.1:9001', projectId: 'my-app', consistency: '0.9' });
  assert.deepEqual(o, { port: 9001, host: '127.0.0.1', projectId: 'my-app', consistency: 0.9 });
  // A data dir keeps data on disk by default, as gcloud's; --no-store-on-disk keeps only env.yaml there.
  assert.deepEqual(normalizeEmulatorOptions({ dataDir: 'd' }), { ...normalizeEmulatorOptions(), dataDir: 'd', envDir: 'd' });
  assert.deepEqual(normalizeEmulatorOptions({ dataDir: 'd', storeOnDisk: false }), { ...normalizeEmulatorOptions(), envDir: 'd' });
  assert.throws(() => normalizeEmulatorOptions({ hostPort: ':1', port: 2 }), /--host-port names a port, and so does --port/);
});
