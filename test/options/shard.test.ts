import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeShard } from '../../src/options/shard.js';
import { normalizeDumpOptions } from '../../src/options/dump.js';
import { isDspipeError } from '../../src/errors.js';

const refused = (re: RegExp) => (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && re.test(err.message);

test('--shard I/N: indices from 0; bad values refused, quoted', () => {
  assert.deepEqual(normalizeShard('2/8', undefined, {}), { index: 2, count: 8, from: 'flag' });
  assert.equal(normalizeShard(undefined, undefined, {}), undefined);
  assert.throws(() => normalizeShard('8/8', undefined, {}), refused(/"8\/8".*from 0 to 7/));
  assert.throws(() => normalizeShard('1-of-3', undefined, {}), refused(/"1-of-3" is not I\/N or auto/));
  assert.throws(() => normalizeShard('0/0', undefined, {}), refused(/count of 0/));
  assert.throws(() => normalizeShard('0/2', '2', {}), refused(/--shard-count/));
  assert.throws(() => normalizeShard(undefined, '2', {}), refused(/--shard-count.*needs --shard/));
});

test('--shard auto: Cloud Run Jobs and Kubernetes Indexed Jobs', () => {
  assert.deepEqual(normalizeShard('auto', undefined, { CLOUD_RUN_TASK_INDEX: '3', CLOUD_RUN_TASK_COUNT: '10' }), { index: 3, count: 10, from: 'CLOUD_RUN_TASK_INDEX' });
  assert.deepEqual(normalizeShard('auto', '4', { JOB_COMPLETION_INDEX: '1' }), { index: 1, count: 4, from: 'JOB_COMPLETION_INDEX' });
  assert.throws(() => normalizeShard('auto', undefined, { JOB_COMPLETION_INDEX: '1' }), refused(/JOB_COMPLETION_INDEX.*no task count/));
  assert.throws(() => normalizeShard('auto', undefined, {}), refused(/neither CLOUD_RUN_TASK_INDEX nor JOB_COMPLETION_INDEX/));
  assert.throws(() => normalizeShard('auto', undefined, { CLOUD_RUN_TASK_INDEX: 'x', CLOUD_RUN_TASK_COUNT: '2' }), refused(/CLOUD_RUN_TASK_INDEX/));
  assert.throws(() => normalizeShard('auto', '2', { JOB_COMPLETION_INDEX: '5' }), refused(/task 5 of 2/));
});

test('dump: --plan, --shard and --finalize one at a time, not with --out -, --resume or --format export', () => {
  assert.equal(normalizeDumpOptions({ name: 'n', plan: true }).sharding.mode, 'plan');
  assert.equal(normalizeDumpOptions({ name: 'n', shard: '0/2' }).sharding.mode, 'shard');
  assert.equal(normalizeDumpOptions({ name: 'n', finalize: true }).sharding.mode, 'finalize');
  assert.throws(() => normalizeDumpOptions({ name: 'n', plan: true, shard: '0/2' }), refused(/--plan cannot be combined with --shard/));
  assert.throws(() => normalizeDumpOptions({ name: 'n', shard: '0/2', resume: true }), refused(/--shard cannot be used with --resume/));
  assert.throws(() => normalizeDumpOptions({ out: '-', finalize: true }), refused(/--finalize cannot be used with --out -/));
  assert.throws(() => normalizeDumpOptions({ name: 'n', plan: true, format: 'export' }), refused(/--plan cannot be used with --format export/));
  assert.throws(() => normalizeDumpOptions({ name: 'n', shard: '0/2', force: true }), refused(/--force only goes with --plan/));
  assert.throws(() => normalizeDumpOptions({ name: 'n', partEntities: 5 }), refused(/--part-entities only applies with --plan/));
  assert.throws(() => normalizeDumpOptions({ name: 'n', plan: true, partEntities: 0 }), refused(/--part-entities/));
});
