import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planMigrations, selectForUp } from '../../src/migrate/plan.js';
import type { MigrationFile } from '../../src/migrate/discovery.js';
import { ZERO_COUNTS, type MigrationRecord } from '../../src/migrate/record.js';
import { isDspipeError } from '../../src/errors.js';

const file = (name: string, checksum = `sum-${name}`): MigrationFile => ({ name, file: `/m/${name}.ts`, checksum });
const record = (name: string, status: MigrationRecord['status'], checksum = `sum-${name}`): MigrationRecord => ({
  name, checksum, description: '', kinds: ['User'], status, startedAt: '2026-01-01T00:00:00.000000Z', finishedAt: null, counts: ZERO_COUNTS, checkpoint: [], error: null, runId: 'r',
});

test('states: applied, pending, interrupted (running or failed), changed, missing', () => {
  const plan = planMigrations(
    [file('0001'), file('0002'), file('0003'), file('0004', 'new'), file('0005')],
    new Map([
      ['0001', record('0001', 'applied')],
      ['0003', record('0003', 'failed')],
      ['0004', record('0004', 'applied')],
      ['0005', record('0005', 'running')],
      ['0000', record('0000', 'applied')],
    ]),
  );
  assert.deepEqual(plan.map((p) => [p.name, p.state]), [
    ['0000', 'missing'], ['0001', 'applied'], ['0002', 'pending'], ['0003', 'interrupted'], ['0004', 'changed'], ['0005', 'interrupted'],
  ]);
});

test('selectForUp runs pending and interrupted in order, refuses changed unless allowed, stops at --to', () => {
  const plan = planMigrations([file('0001'), file('0002'), file('0003', 'edited'), file('0004')], new Map([['0001', record('0001', 'applied')], ['0003', record('0003', 'failed')]]));
  // An interrupted script may have been edited (that is how one fixes it).
  assert.deepEqual(selectForUp(plan, { allowChanged: false, dir: 'm' }).run.map((p) => p.name), ['0002', '0003', '0004']);
  assert.deepEqual(selectForUp(plan, { to: '0002', allowChanged: false, dir: 'm' }).run.map((p) => p.name), ['0002']);
  assert.throws(() => selectForUp(plan, { to: '0009', allowChanged: false, dir: 'm' }), (err: unknown) => isDspipeError(err, 'DSPIPE_NOT_FOUND') && /0001, 0002, 0003, 0004/.test(err.hint ?? ''));

  const changed = planMigrations([file('0001', 'edited'), file('0002')], new Map([['0001', record('0001', 'applied')]]));
  assert.throws(() => selectForUp(changed, { allowChanged: false, dir: 'm' }), (err: unknown) =>
    isDspipeError(err, 'DSPIPE_MIGRATION_CHANGED') && err.file === '/m/0001.ts' && /sum-0001/.test(err.message));
  const allowed = selectForUp(changed, { allowChanged: true, dir: 'm' });
  assert.deepEqual([allowed.run.map((p) => p.name), allowed.changed.map((p) => p.name)], [['0002'], ['0001']]);
  // a changed script beyond --to does not block
  assert.deepEqual(selectForUp(planMigrations([file('0001'), file('0002', 'x')], new Map([['0002', record('0002', 'applied')]])), { to: '0001', allowChanged: false, dir: 'm' }).run.map((p) => p.name), ['0001']);
});
