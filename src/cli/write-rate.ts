/**
 * `--max-rps` and `--ramp` for the commands that write (restore, migrate,
 * clear), and how a change of the write rate shows in their progress.
 */
import type { Command } from 'commander';
import { opt } from './program.js';
import type { RateEvent } from '../commands/write-rate.js';
import { formatCount } from './progress.js';

export function addWriteRateOptions(cmd: Command, group: string): Command {
  return cmd
    .addOption(opt('--max-rps <N>', 'most write operations per second, for the whole job (shared by its --shard processes) (default: no ceiling)', group))
    .addOption(opt('--ramp <on|off>', "Datastore's 500/50/5 rule: start at 500 writes/s, +50% every 5 minutes (default: on against a real project, off against an emulator); a RESOURCE_EXHAUSTED or ABORTED answer lowers the rate either way", group));
}

const WHY: Record<RateEvent['reason'], string> = { start: 'start', ramp: 'ramp +50%', throttled: 'Datastore pushed back', recovered: 'recovering' };

/** One progress line: "write rate 750/s (ramp +50%)". */
export function rateText(e: RateEvent): string {
  return `write rate ${e.rps === null ? 'unlimited' : `${formatCount(e.rps)}/s`} (${WHY[e.reason]}${e.reason === 'start' ? (e.ramp ? ', ramping' : ', no ramp') : ''})`;
}
