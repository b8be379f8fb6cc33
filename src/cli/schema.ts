/**
 * `dspipe schema`: flags → schema(), progress on stderr, the report on
 * stdout as a table (or JSON with --json).
 */
import type { Command } from 'commander';
import { connectionFrom, EXIT, targetText } from './run.js';
import { jsonOutput, printJson } from './json.js';
import { act, addConnectionOptions, opt, subcommand } from './program.js';
import { createProgress, type ProgressTask } from './progress.js';
import type { SchemaCommandOptions, SchemaEvent } from '../commands/schema.js';
import { formatSchemaTable } from '../format/schema.js';

export const SCHEMA_SUMMARY = 'report the property types actually stored';

export interface SchemaFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  kinds?: string[];
  namespaces?: string[];
  from?: string;
  fast?: boolean;
  snapshot?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  const What = 'What:';
  const From = 'Where from:';
  const Out = 'Output:';
  const cmd = subcommand(program, 'schema', SCHEMA_SUMMARY)
    .description(`report the property types actually stored

For each namespace and kind: the entity count and, per property path
(\`address.city\` inside embedded entities, \`tags[]\` for array elements), the
value types found with counts, e.g.

  birthday  timestamp 9,850 · string 150 · missing 12   10,000 / 0   9 B

then indexed / unindexed value counts and the largest value (bytes, by
Google's storage-size formula).`)
    .addOption(opt('--kinds <LIST>', 'kinds to report, comma-separated; -NAME excludes, * matches any run (default: all)', What, true))
    .addOption(opt('--namespaces <LIST>', 'namespaces to report, same syntax; (default) is the default namespace (default: all)', What, true))
    .addOption(opt('--from <DIR>', 'read a dump folder (e.g. _backup/20261122) or a managed export folder instead of the database; no Datastore access (default: scan live data)', From))
    .addOption(opt('--fast', "ask Datastore's __property__ metadata instead of scanning: property names and index representations only (INT64 covers integers and timestamps), no counts, unindexed properties not listed (default: off)", From))
    .addOption(opt('--no-snapshot', 'scan current data instead of one consistent snapshot (default: snapshot)', From))
    .addOption(opt('--json', 'print the report as JSON on stdout (default: a table)', Out))
    .addOption(opt('-q, --quiet', 'no progress on stderr', Out));
  addConnectionOptions(cmd, 'Connection (live and --fast):')
    .addHelpText('after', `
Examples:
  dspipe schema --project my-app --kinds User
  dspipe schema --from _backup/20261122 --json | jq '.kinds[] | {kind, birthday: .properties.birthday.types}'
  dspipe schema --emulator-host localhost:8081 --fast

Exit codes: 0 done, 1 failed, 2 bad usage.`)
    .action(act((flags: SchemaFlags) => run(flags)));
}

export async function run(flags: SchemaFlags): Promise<number> {
  const { formatMetadataTable, schema } = await import('../commands/schema.js');
  const json = jsonOutput('schema', flags);
  const progress = createProgress({ enabled: flags.quiet ? false : undefined });
  const tasks = new Map<string, ProgressTask>();
  const options: SchemaCommandOptions = {
    ...(flags.kinds !== undefined && { kinds: flags.kinds }),
    ...(flags.namespaces !== undefined && { namespaces: flags.namespaces }),
    ...(flags.from !== undefined && { from: flags.from }),
    fast: flags.fast === true,
    snapshot: flags.snapshot !== false,
  };
  const onEvent = (e: SchemaEvent) => {
    if (e.type === 'warning') return progress.warn(`dspipe: warning: ${e.message}`);
    if (e.type === 'start' || e.type === 'retry') return;
    const id = `${e.namespace}\u0000${e.kind}`;
    if (e.type === 'kind-start') tasks.set(id, progress.task(`${e.namespace || '(default)'} / ${e.kind}`));
    else tasks.get(id)?.update(e.entities);
    if (e.type === 'kind-done') tasks.get(id)?.done();
  };
  let report;
  try {
    report = await schema(options, { connection: connectionFrom(flags), onEvent });
  } finally {
    progress.stop();
  }
  if (json) printJson(report);
  else if (report.source === 'metadata') {
    process.stdout.write(`properties of ${report.target ? targetText(report.target) : 'the database'} (from __property__ metadata)\n\n`);
    process.stdout.write(formatMetadataTable(report.metadata) || 'no kinds found\n');
  }
  else {
    const of = report.target ? targetText(report.target) : 'an unrecorded project';
    const where = report.source === 'dump' ? `dump ${report.from} (of ${of})` : report.source === 'export' ? `managed export ${report.from}` : `live data in ${of}`;
    process.stdout.write(`schema of ${where}${report.readTime ? ` at ${report.readTime}` : ''}\n\n`);
    process.stdout.write(report.kinds.length > 0 ? formatSchemaTable(report.kinds) : 'no kinds found\n');
  }
  return EXIT.OK;
}
