/**
 * `dspipe clear`: flags → clear(), progress on stderr, counts at the end.
 */
import type { Command } from 'commander';
import { connectionFrom, EXIT, targetText } from './run.js';
import { jsonOutput, printJson, printJsonError } from './json.js';
import { act, addConnectionOptions, opt, subcommand } from './program.js';
import { createProgress, formatCount, formatDuration, formatTable, type ProgressTask } from './progress.js';
import type { ClearCommandOptions, ClearEvent, ClearResult } from '../commands/clear.js';
import { DEFAULT_WRITERS } from '../options/restore.js';
import { DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { DspipeError } from '../errors.js';
import { DEFAULT_CLEAR_CONCURRENCY } from '../options/clear.js';
import { addWriteRateOptions, rateText } from './write-rate.js';

export const CLEAR_SUMMARY = 'delete every entity (of chosen kinds/namespaces)';

export interface ClearFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  kinds?: string[];
  namespaces?: string[];
  yes?: boolean;
  concurrency?: string;
  writers?: string;
  batchSize?: string;
  maxRps?: string;
  ramp?: string;
  quiet?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const What = 'What:';
  const How = 'How:';
  const Out = 'Output:';
  const cmd = subcommand(program, 'clear', CLEAR_SUMMARY)
    .description(`delete every entity of every kind and namespace (or the chosen ones)

Lists namespaces and kinds, reads keys only, and deletes them in batched
commits. It refuses to run unless confirmed:
  - against an emulator, --yes is enough;
  - against a real project, also name it with --project ID (exactly the
    project the command would talk to; one from the environment is not enough).`)
    .usage('--yes [--project ID] [options]')
    .addOption(opt('--kinds <LIST>', "kinds to clear, comma-separated; -NAME excludes, * matches any run (default: all; Datastore's own __*__ kinds never)", What, true))
    .addOption(opt('--namespaces <LIST>', 'namespaces to clear, same syntax; (default) is the default namespace (default: all)', What, true))
    .addOption(opt('-y, --yes', 'confirm the deletion', What))
    .addOption(opt('--concurrency <N>', `kinds cleared at once (default: ${DEFAULT_CLEAR_CONCURRENCY})`, How))
    .addOption(opt('--writers <N>', `concurrent delete commits per kind (default: ${DEFAULT_WRITERS})`, How))
    .addOption(opt('--batch-size <N>', `keys per delete commit (default: ${DEFAULT_MAX_BATCH_OPS})`, How))
    .addOption(opt('-q, --quiet', 'no progress, no summary', Out))
    .addOption(opt('--json', 'print the counts as JSON on stdout', Out));
  addWriteRateOptions(cmd, How);
  addConnectionOptions(cmd, 'Connection:', { project: 'project id (required by name for real projects, see above)' })
    .addHelpText('after', `
Examples:
  dspipe clear --emulator-host localhost:8081 --yes
  dspipe clear --project my-app-staging --yes
  dspipe clear --project my-app-staging --yes --kinds Session,AuditLog --namespaces '(default)'

Exit codes: 0 done, 1 failed, 2 bad usage or not confirmed, 130 interrupted.`)
    .action(act((flags: ClearFlags) => run(flags)));
}

export function clearSummary(result: ClearResult): string {
  const rows = [['namespace', 'kind', 'deleted']];
  for (const k of result.kinds) rows.push([k.namespace === '' ? '(default)' : k.namespace, k.kind, formatCount(k.deleted)]);
  const target = targetText(result.target);
  return `${result.kinds.length > 0 ? formatTable(rows) : ''}${formatCount(result.deleted)} entities in ${result.kinds.length} kinds deleted from ${target} in ${formatDuration(result.seconds)}${result.retries ? `, ${result.retries} retries` : ''}\n`;
}

export async function run(flags: ClearFlags): Promise<number> {
  const { clear } = await import('../commands/clear.js');
  const options: ClearCommandOptions = {};
  if (flags.project !== undefined) options.confirmProject = flags.project;
  if (flags.yes !== undefined) options.yes = flags.yes;
  if (flags.kinds !== undefined) options.kinds = flags.kinds;
  if (flags.namespaces !== undefined) options.namespaces = flags.namespaces;
  if (flags.concurrency !== undefined) options.concurrency = flags.concurrency;
  if (flags.writers !== undefined) options.writers = flags.writers;
  if (flags.batchSize !== undefined) options.batchSize = flags.batchSize;
  if (flags.maxRps !== undefined) options.maxRps = flags.maxRps;
  if (flags.ramp !== undefined) options.ramp = flags.ramp;
  const quiet = flags.quiet === true;
  const json = jsonOutput('clear', flags);
  const progress = createProgress({ enabled: process.stderr.isTTY === true && !quiet && !json });
  const tasks = new Map<string, ProgressTask>();
  const onEvent = (e: ClearEvent) => {
    if (e.type === 'start') return;
    if (e.type === 'rate') return progress.log(rateText(e));
    if (e.type === 'warning') return progress.warn(`dspipe: warning: ${e.message}`);
    if (e.type === 'retry') return progress.log(`retrying ${e.kind !== undefined ? `${e.namespace ? `${e.namespace}/` : ''}${e.kind} ` : ''}in ${e.delayMs} ms: ${e.error}`);
    const id = JSON.stringify([e.namespace, e.kind]);
    if (e.type === 'kind-start') {
      tasks.set(id, progress.task(`delete ${e.namespace === '' ? '' : `${e.namespace}/`}${e.kind}`));
      return;
    }
    tasks.get(id)?.update(e.deleted);
    if (e.type === 'kind-done') {
      tasks.get(id)?.done();
      tasks.delete(id);
    }
  };
  const controller = new AbortController();
  const onSignal = () => controller.abort(new DspipeError('DSPIPE_IO', 'interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const connection = connectionFrom(flags);
    const result = await clear(options, { connection, onEvent, signal: controller.signal });
    progress.stop();
    if (json) printJson(result);
    else if (!quiet) process.stderr.write(clearSummary(result));
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (controller.signal.aborted) {
      printJsonError(controller.signal.reason);
      process.stderr.write('dspipe: clear interrupted; run it again to delete the rest\n');
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
