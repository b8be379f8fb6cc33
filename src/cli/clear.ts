/**
 * `dspipe clear`: flags → clear(), progress on stderr, counts at the end.
 */
import { CONNECTION_OPTIONS, connectionFrom, EXIT, parseCommandArgs } from './run.js';
import { createProgress, formatCount, formatDuration, formatTable, type ProgressTask } from './progress.js';
import { clear, type ClearCommandOptions, type ClearEvent, type ClearResult } from '../commands/clear.js';
import { DEFAULT_WRITERS } from '../options/restore.js';
import { DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { DspipeError } from '../errors.js';
import { DEFAULT_CLEAR_CONCURRENCY } from '../options/clear.js';

export const CLEAR_HELP = `dspipe clear — delete every entity of every kind and namespace (or the chosen ones)

Usage: dspipe clear --yes [--project ID] [options]

Lists namespaces and kinds, reads keys only, and deletes them in batched
commits. It refuses to run unless confirmed:
  - against an emulator, --yes is enough;
  - against a real project, also name it with --project ID (exactly the
    project the command would talk to; one from the environment is not enough).

What:
      --kinds LIST         kinds to clear, comma-separated; -NAME excludes, * matches any run
                           (default: all; Datastore's own __*__ kinds never)
      --namespaces LIST    namespaces to clear, same syntax; (default) is the default namespace
                           (default: all)
  -y, --yes                confirm the deletion

How:
      --concurrency N      kinds cleared at once (default: ${DEFAULT_CLEAR_CONCURRENCY})
      --writers N          concurrent delete commits per kind (default: ${DEFAULT_WRITERS})
      --batch-size N       keys per delete commit (default: ${DEFAULT_MAX_BATCH_OPS})

Output:
  -q, --quiet              no progress, no summary
      --json               print the counts as JSON on stdout

Connection:
      --project ID         project id (required by name for real projects, see above)
      --database ID        named database (default: the (default) database)
      --emulator-host H:P  talk to an emulator (default: DATASTORE_EMULATOR_HOST)

Examples:
  dspipe clear --emulator-host localhost:8081 --yes
  dspipe clear --project my-app-staging --yes
  dspipe clear --project my-app-staging --yes --kinds Session,AuditLog --namespaces '(default)'

Exit codes: 0 done, 1 failed, 2 bad usage or not confirmed, 130 interrupted.
`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  kinds: { type: 'string', multiple: true },
  namespaces: { type: 'string', multiple: true },
  yes: { type: 'boolean', short: 'y' },
  concurrency: { type: 'string' },
  writers: { type: 'string' },
  'batch-size': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function clearSummary(result: ClearResult): string {
  const rows = [['namespace', 'kind', 'deleted']];
  for (const k of result.kinds) rows.push([k.namespace === '' ? '(default)' : k.namespace, k.kind, formatCount(k.deleted)]);
  const target = `project ${result.target.projectId}${result.target.databaseId ? ` database ${result.target.databaseId}` : ''}`;
  return `${result.kinds.length > 0 ? formatTable(rows) : ''}${formatCount(result.deleted)} entities in ${result.kinds.length} kinds deleted from ${target} in ${formatDuration(result.seconds)}${result.retries ? `, ${result.retries} retries` : ''}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('clear', argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(CLEAR_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `unexpected argument ${JSON.stringify(positionals[0])}`, { hint: 'see dspipe clear --help' });
  }
  const options: ClearCommandOptions = {};
  if (values.project !== undefined) options.confirmProject = values.project as string;
  if (values.yes !== undefined) options.yes = values.yes as boolean;
  if (values.kinds !== undefined) options.kinds = values.kinds as string[];
  if (values.namespaces !== undefined) options.namespaces = values.namespaces as string[];
  if (values.concurrency !== undefined) options.concurrency = values.concurrency as string;
  if (values.writers !== undefined) options.writers = values.writers as string;
  if (values['batch-size'] !== undefined) options.batchSize = values['batch-size'] as string;
  const quiet = values.quiet === true;
  const json = values.json === true;
  const progress = createProgress({ enabled: process.stderr.isTTY === true && !quiet && !json });
  const tasks = new Map<string, ProgressTask>();
  const onEvent = (e: ClearEvent) => {
    if (e.type === 'start') return;
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
    const connection = connectionFrom(values as Parameters<typeof connectionFrom>[0]);
    const result = await clear(options, { connection, onEvent, signal: controller.signal });
    progress.stop();
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (!quiet) process.stderr.write(clearSummary(result));
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (controller.signal.aborted) {
      process.stderr.write('dspipe: clear interrupted; run it again to delete the rest\n');
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
