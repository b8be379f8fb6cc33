/**
 * `--shard I/N | auto` and `--shard-count N`, shared by dump and restore:
 * which task of a job this process is. `auto` reads what the engine sets —
 * Cloud Run Jobs: CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT; a
 * Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with the count from
 * `--shard-count` (Kubernetes does not put `completions` in the environment).
 * Indices start at 0, as both engines count.
 */
import { invalid, opt, wholeNumber } from './validate.js';

export const MAX_SHARDS = 10_000;

export interface ShardSpec {
  index: number;
  count: number;
  /** Where it came from, for messages. */
  from: 'flag' | 'CLOUD_RUN_TASK_INDEX' | 'JOB_COMPLETION_INDEX';
}

const SHARD = opt('--shard');
const COUNT = opt('--shard-count');
const HINT = 'write --shard 0/8 (task 0 of 8, counting from 0), or --shard auto in a Cloud Run Job or Kubernetes Indexed Job';

function envNumber(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v.trim())) invalid({ flag: name, option: name }, v, 'is not a whole number', `the job engine sets ${name}; check the job's environment`);
  return Number(v);
}

/** The shard this process is, or undefined without --shard. */
export function normalizeShard(
  shard: unknown,
  shardCount: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ShardSpec | undefined {
  const countFlag = wholeNumber(COUNT, shardCount, 1, MAX_SHARDS);
  if (shard === undefined) {
    if (countFlag !== undefined) invalid(COUNT, shardCount, 'needs --shard', 'add --shard auto (or --shard I/N)');
    return undefined;
  }
  let spec: ShardSpec;
  if (shard === 'auto') {
    const cloudRun = envNumber(env, 'CLOUD_RUN_TASK_INDEX');
    const indexed = envNumber(env, 'JOB_COMPLETION_INDEX');
    if (cloudRun !== undefined) {
      const count = countFlag ?? envNumber(env, 'CLOUD_RUN_TASK_COUNT');
      if (count === undefined) invalid(SHARD, shard, 'found CLOUD_RUN_TASK_INDEX but no CLOUD_RUN_TASK_COUNT', 'add --shard-count N');
      spec = { index: cloudRun, count, from: 'CLOUD_RUN_TASK_INDEX' };
    } else if (indexed !== undefined) {
      if (countFlag === undefined) invalid(SHARD, shard, 'found JOB_COMPLETION_INDEX but no task count', 'add --shard-count N, the job\'s completions (Kubernetes does not tell it)');
      spec = { index: indexed, count: countFlag, from: 'JOB_COMPLETION_INDEX' };
    } else {
      return invalid(SHARD, shard, 'found neither CLOUD_RUN_TASK_INDEX nor JOB_COMPLETION_INDEX in the environment', HINT);
    }
  } else {
    const m = typeof shard === 'string' ? /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(shard) : null;
    if (m === null) return invalid(SHARD, shard, 'is not I/N or auto', HINT);
    if (countFlag !== undefined) invalid(COUNT, shardCount, 'only goes with --shard auto', '--shard I/N names the count already');
    spec = { index: Number(m[1]), count: Number(m[2]), from: 'flag' };
  }
  if (!(spec.count >= 1 && spec.count <= MAX_SHARDS)) invalid(SHARD, shard, `has a task count of ${spec.count}, not 1 to ${MAX_SHARDS}`, HINT);
  if (spec.index >= spec.count) invalid(SHARD, shard, `is task ${spec.index} of ${spec.count}; indices run from 0 to ${spec.count - 1}`, HINT);
  return spec;
}
