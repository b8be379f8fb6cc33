/**
 * `dspipe indexes diff|create|wait|prune FILE`: an index.yaml against the
 * composite indexes deployed (Datastore Admin API). Tables and progress on
 * stderr, `--json` on stdout; the exit code says whether the file's indexes
 * are all READY.
 */
import type { Command } from 'commander';
import { connectionFrom, EXIT } from './run.js';
import { jsonOutput, printJson } from './json.js';
import { act, opt, subcommand } from './program.js';
import { formatDuration, formatTable } from './progress.js';
import { DspipeError } from '../errors.js';
import { describeIndex } from '../format/index-yaml.js';
import { DEFAULT_INDEX_TIMEOUT_S } from '../options/indexes.js';
import type { IndexesCommandOptions, IndexesDiff, IndexesEvent } from '../commands/indexes.js';

export const INDEXES_SUMMARY = 'check, create and wait for the indexes of an index.yaml';

const ABOUT = `check, create and wait for the composite indexes of an index.yaml

FILE is an index.yaml as App Engine defines it (indexes: - kind, ancestor: yes|no, properties: - name, direction: asc|desc). Single-property entries are Datastore's built-in indexes: they are never created and count as ready. The indexes are managed through the Datastore Admin API, for the (default) database.`;

const RECIPE = `
Deploy a new query in CI — indexes first, the code once they are READY:
  dspipe indexes create index.yaml --wait && deploy

Exit codes: 0 done (all READY), 1 failed or not all READY, 2 bad usage or input, 130 interrupted.`;

export interface IndexesFlags {
  project?: string;
  emulatorHost?: string;
  wait?: boolean;
  timeout?: string;
  pollMs?: string;
  yes?: boolean;
  quiet?: boolean;
  json?: boolean;
}

const SUBCOMMANDS = {
  diff: 'deployed composite indexes against FILE: missing, extra, and each one\'s state (CREATING, READY, DELETING, ERROR); exit 0 only when every index of FILE is READY',
  create: 'create the indexes of FILE that are not deployed (never deletes); with --wait, then wait until all are READY',
  wait: 'block until every index of FILE is READY; exit 1 on ERROR or timeout',
  prune: 'delete the deployed composite indexes FILE does not list; needs --yes, and against a real project --project ID, like clear',
} as const;
type Subcommand = keyof typeof SUBCOMMANDS;

export function register(program: Command): void {
  const indexes = subcommand(program, 'indexes', INDEXES_SUMMARY)
    .description(ABOUT)
    .addHelpText('after', `\nEach command's flags: dspipe indexes diff|create|wait|prune --help\n${RECIPE}`);
  for (const [name, summary] of Object.entries(SUBCOMMANDS) as [Subcommand, string][]) {
    const O = 'Options:';
    const cmd = subcommand(indexes, name, summary).description(summary).argument('<FILE>', 'the index.yaml');
    if (name === 'create') cmd.addOption(opt('--wait', 'then wait until every index is READY', O));
    if (name === 'create' || name === 'wait') {
      cmd
        .addOption(opt('--timeout <SECONDS>', `how long to wait for READY (default: ${DEFAULT_INDEX_TIMEOUT_S})`, O))
        .addOption(opt('--poll-ms <N>', 'how often to look while waiting (default: 5000; 200 on an emulator)', O));
    }
    if (name === 'prune') cmd.addOption(opt('-y, --yes', 'confirm the deletion', O));
    cmd
      .addOption(opt('-q, --quiet', 'no progress, no table', 'Output:'))
      .addOption(opt('--json', 'print the result as JSON on stdout', 'Output:'))
      .addOption(opt('--project <ID>', name === 'prune' ? 'project id (required by name for real projects)' : 'project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)', 'Connection:'))
      .addOption(opt('--emulator-host <H:P>', 'talk to an emulator (default: DATASTORE_EMULATOR_HOST)', 'Connection:'))
      .addHelpText('after', RECIPE)
      .action(act((file: string, flags: IndexesFlags) => run(name, file, flags)));
  }
}

export async function run(sub: Subcommand, file: string, flags: IndexesFlags): Promise<number> {
  const options: IndexesCommandOptions = { file };
  if (flags.wait !== undefined) options.wait = flags.wait;
  if (flags.timeout !== undefined) options.timeout = flags.timeout;
  if (flags.pollMs !== undefined) options.pollMs = flags.pollMs;
  if (flags.yes !== undefined) options.yes = flags.yes;
  if (flags.project !== undefined) options.confirmProject = flags.project;
  return runIndexes(sub, options, flags, { quiet: flags.quiet === true, json: flags.json === true });
}

export function diffTable(diff: IndexesDiff): string {
  const rows = [['state', 'index', 'id']];
  for (const i of diff.indexes) rows.push([i.state, describeIndex(i.definition), i.indexId ?? '']);
  for (const e of diff.extra) rows.push([`extra ${e.state}`, describeIndex(e.definition), e.indexId]);
  const ready = diff.indexes.filter((i) => i.state === 'READY' || i.state === 'BUILT_IN').length;
  const tail =
    `${ready} of ${diff.indexes.length} indexes of ${diff.file} READY in project ${diff.target.projectId}` +
    `${diff.missing.length ? `, ${diff.missing.length} missing (dspipe indexes create ${diff.file})` : ''}` +
    `${diff.extra.length ? `, ${diff.extra.length} not in the file (dspipe indexes prune ${diff.file} --yes)` : ''}\n`;
  return (rows.length > 1 ? formatTable(rows) : '') + tail;
}

async function runIndexes(
  sub: Subcommand,
  options: IndexesCommandOptions,
  connectionFlags: Parameters<typeof connectionFrom>[0],
  output: { quiet: boolean; json: boolean },
): Promise<number> {
  const say = (line: string) => {
    if (!output.quiet && !output.json) process.stderr.write(`${line}\n`);
  };
  jsonOutput(`indexes ${sub}`, { ...connectionFlags, json: output.json });
  let lastWait = '';
  let lastWaitAt = 0;
  const onEvent = (e: IndexesEvent) => {
    if (e.type === 'created') say(`created   ${describeIndex(e.index)}${e.indexId ? ` (${e.indexId})` : ' (already being created)'}`);
    else if (e.type === 'deleted') say(`deleted   ${describeIndex(e.index)} (${e.indexId})`);
    else {
      // One line when something changes, and at least every 30 s so a CI log shows it is alive.
      const line = `waiting   ${e.ready}/${e.total} READY${e.building.length ? `; building: ${e.building.map((b) => `${describeIndex(b.definition)} ${b.state}`).join(', ')}` : ''}`;
      if (line !== lastWait || e.elapsedMs - lastWaitAt >= 30_000) {
        say(`${line} (${formatDuration(e.elapsedMs / 1000)})`);
        lastWait = line;
        lastWaitAt = e.elapsedMs;
      }
    }
  };
  const controller = new AbortController();
  const onSignal = () => controller.abort(new DspipeError('DSPIPE_IO', 'interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const commands = await import('../commands/indexes.js');
    const context = { connection: connectionFrom(connectionFlags), onEvent, signal: controller.signal };
    const result =
      sub === 'diff' ? await commands.indexesDiff(options, context)
      : sub === 'create' ? await commands.indexesCreate(options, context)
      : sub === 'wait' ? await commands.indexesWait(options, context)
      : await commands.indexesPrune(options, context);
    if (output.json) printJson(result);
    else if (!output.quiet) process.stderr.write(diffTable(result));
    // create without --wait has done its job once the missing ones are asked for.
    if (sub === 'create' && !options.wait) return EXIT.OK;
    if (sub === 'prune') return EXIT.OK;
    return result.ready ? EXIT.OK : EXIT.FAILED;
  } catch (err) {
    if (controller.signal.aborted) {
      process.stderr.write('dspipe: indexes interrupted\n');
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
