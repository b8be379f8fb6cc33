/**
 * `dspipe schema`: flags → schema(), progress on stderr, the report on
 * stdout as a table (or JSON with --json).
 */
import { CONNECTION_OPTIONS, connectionFrom, EXIT, parseCommandArgs } from './run.js';
import { createProgress, type ProgressTask } from './progress.js';
import { formatMetadataTable, schema, type SchemaCommandOptions, type SchemaEvent } from '../commands/schema.js';
import { formatSchemaTable } from '../format/schema.js';

export const SCHEMA_HELP = `dspipe schema — report the property types actually stored

Usage: dspipe schema [options]

For each namespace and kind: the entity count and, per property path
(\`address.city\` inside embedded entities, \`tags[]\` for array elements), the
value types found with counts, e.g.

  birthday  timestamp 9,850 · string 150 · missing 12   10,000 / 0   9 B

then indexed / unindexed value counts and the largest value (bytes, by
Google's storage-size formula).

What:
      --kinds LIST       kinds to report, comma-separated; -NAME excludes, * matches any run
                         (default: all)
      --namespaces LIST  namespaces to report, same syntax; (default) is the default namespace
                         (default: all)

Where from:
      --from DIR         read a dump folder (e.g. _backup/20261122) instead of the database;
                         no Datastore access (default: scan live data)
      --fast             ask Datastore's __property__ metadata instead of scanning: property
                         names and index representations only (INT64 covers integers and
                         timestamps), no counts, unindexed properties not listed (default: off)
      --no-snapshot      scan current data instead of one consistent snapshot (default: snapshot)

Output:
      --json             print the report as JSON on stdout (default: a table)
  -q, --quiet            no progress on stderr

Connection (live and --fast):
      --project ID       project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)
      --database ID      named database (default: the (default) database)
      --emulator-host H:P  talk to an emulator (default: DATASTORE_EMULATOR_HOST)

Examples:
  dspipe schema --project my-app --kinds User
  dspipe schema --from _backup/20261122 --json | jq '.kinds[] | {kind, birthday: .properties.birthday.types}'
  dspipe schema --emulator-host localhost:8081 --fast

Exit codes: 0 done, 1 failed, 2 bad usage.
`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  kinds: { type: 'string', multiple: true },
  namespaces: { type: 'string', multiple: true },
  from: { type: 'string' },
  fast: { type: 'boolean' },
  'no-snapshot': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('schema', argv, OPTIONS);
  if (values.help) {
    process.stdout.write(SCHEMA_HELP);
    return EXIT.OK;
  }
  const progress = createProgress({ enabled: values.quiet ? false : undefined });
  const tasks = new Map<string, ProgressTask>();
  const options: SchemaCommandOptions = {
    ...(values.kinds !== undefined && { kinds: values.kinds as string[] }),
    ...(values.namespaces !== undefined && { namespaces: values.namespaces as string[] }),
    ...(values.from !== undefined && { from: values.from as string }),
    fast: values.fast === true,
    snapshot: values['no-snapshot'] !== true,
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
    report = await schema(options, { connection: connectionFrom(values as Parameters<typeof connectionFrom>[0]), onEvent });
  } finally {
    progress.stop();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (report.source === 'metadata') process.stdout.write(formatMetadataTable(report.metadata) || 'no kinds found\n');
  else {
    const where = report.source === 'dump' ? `dump ${report.from}` : 'live data';
    process.stdout.write(`schema of ${where}${report.readTime ? ` at ${report.readTime}` : ''}\n\n`);
    process.stdout.write(report.kinds.length > 0 ? formatSchemaTable(report.kinds) : 'no kinds found\n');
  }
  return EXIT.OK;
}
