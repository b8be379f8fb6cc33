/** The flags of a dump spread over the tasks of a job: --plan, --shard, --shard-count, --finalize, --part-entities. */
import type { Command } from 'commander';
import { opt } from './program.js';
import { DEFAULT_PART_ENTITIES } from '../options/dump.js';
import { formatCount } from './progress.js';

export function addShardOptions(cmd: Command, group: string): Command {
  return cmd
    .addOption(opt('--plan', 'take the read time, list the kinds and cut them into key ranges (__scatter__); writes <root>/NAME/plan.json for the tasks', group))
    .addOption(opt('--part-entities <N>', `with --plan: entities per key range, about (default: ${formatCount(DEFAULT_PART_ENTITIES)})`, group))
    .addOption(opt('--shard <I/N|auto>', "dump this task's ranges of the plan: task I of N, from 0; auto reads CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT (Cloud Run Jobs) or JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs, with --shard-count). Run again, it redoes only its unfinished parts; the last task to finish finalizes", group))
    .addOption(opt('--shard-count <N>', 'with --shard auto in a Kubernetes Indexed Job: the number of tasks (its completions)', group))
    .addOption(opt('--finalize', 'check every part and write the finished dump (manifest.json and one file per kind, the same as a single-machine dump)', group));
}
