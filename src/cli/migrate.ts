/**
 * `dspipe migrate status|up|run`: flags → the migrate commands, progress on
 * stderr, results on stdout (a table, or JSON with --json).
 */
import { CONNECTION_OPTIONS, connectionFrom, EXIT, parseCommandArgs } from './run.js';
import { createProgress, formatCount, formatTable, type ProgressTask } from './progress.js';
import {
  migrateRun, migrateStatus, migrateUp, type MigrateCommandOptions, type MigrateContext, type MigrateEvent, type MigrationReport,
} from '../commands/migrate.js';
import { DEFAULT_MIGRATIONS_DIR, normalizeMigrateOptions } from '../options/migrate.js';
import { parseConvert, parseDrop, parseRename, parseSet, type BuiltinTransform } from '../format/transforms.js';
import { DspipeError } from '../errors.js';

const D = normalizeMigrateOptions();

export const MIGRATE_HELP = `dspipe migrate — rewrite entities in place when the data model changes, safely while the app writes

Usage:
  dspipe migrate status [options]          list applied, pending, interrupted and changed migrations
  dspipe migrate up [options]              run pending migrations in name order (resumes an interrupted one)
  dspipe migrate run --kind KIND TRANSFORM... [options]
                                           apply built-in transforms to one kind, no script needed

Migration scripts live in --dir (default: ${DEFAULT_MIGRATIONS_DIR}/), named to sort, e.g.
0001-birthday-to-string.ts (TypeScript runs as is) or .js/.mjs:

  import type { EntityHelper } from 'dspipe';
  export const kind = 'User';                      // or: export const kinds = ['User', 'Admin']
  export const description = 'birthday: timestamp -> YYYY-MM-DD string';
  export function transform(user: EntityHelper) {
    const b = user.get('birthday');                // Date (timestamp), string, bigint (integer), number (double), …
    if (!(b instanceof Date)) return undefined;    // undefined: leave the entity as it is
    user.set('birthday', b.toISOString().slice(0, 10)); // keeps the property's excludeFromIndexes
    return user;                                   // the entity to write (same key); null deletes it
  }

Every rewrite is committed with base_version = the version read, so a write the
app makes meanwhile is never overwritten: the entity is read again and
transformed again. Runs are recorded in the DspipeMigration kind (name,
checksum, counts, start/end, checkpoint); a killed run continues from its
checkpoint on the next \`up\`. A script edited after it was applied is refused.

Options for status and up:
      --dir DIR          folder of migration scripts (default: ${DEFAULT_MIGRATIONS_DIR})
      --to NAME          up: stop after this migration (default: run all pending)
      --allow-changed    up: go on although an applied script changed since (default: refuse)

Built-in transforms for run (applied in the order given; top-level properties):
      --rename OLD=NEW   move a property, keeping its value, index flag and meaning
      --drop PROP        remove a property
      --convert PROP:timestamp->string[:FORMAT]
      --convert PROP:string->timestamp[:FORMAT]
                         FORMAT (UTC): iso (default; RFC 3339), date (YYYY-MM-DD), epoch-ms,
                         or a pattern with %Y %m %d %H %M %S %L (ms) %f (µs) %%, e.g. %d/%m/%Y.
                         Other types are left alone; a string that does not parse stops the run.
      --set PROP=VALUE   set where missing; VALUE is int:5, double:1.5, str:text, bool:true,
                         timestamp:2024-01-31T00:00:00Z or null
      --kind KIND        the kind to rewrite (required for run)
  run is not recorded in DspipeMigration; every built-in is idempotent, so after an
  interruption run the same command again.

Options for up and run:
      --dry-run          read and transform everything, write nothing; report how many entities
                         would change or be deleted, with before/after examples (default: off)
      --examples N       before/after examples a dry run shows (default: ${D.examples})
      --backup           first dump the touched kinds to <backup-root>/pre-<migration>/ (default: off)
      --backup-root DIR  where --backup writes (default: ${D.backupRoot})
      --namespaces LIST  namespaces to migrate, comma-separated; -NAME excludes, * matches any run,
                         (default) is the default namespace (default: all). For up only with --dry-run:
                         a script limits itself with export const namespaces = '…'
      --writers N        concurrent commits per kind (default: ${D.writers})
      --batch-size N     entities per commit at most (default: ${D.batchSize}; also capped at ~9 MiB)
      --max-conflict-attempts N
                         times one entity is read again after concurrent writes before giving up
                         (default: ${D.maxConflictAttempts})
      --checkpoint-every N  save progress after at most N entities (default: ${D.checkpointEvery})
      --page-size N      entities per RunQuery page (default: what Datastore returns, ~300)

Output:
      --json             print the result as JSON on stdout (default: text)
  -q, --quiet            no progress on stderr

Connection:
      --project ID       project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)
      --database ID      named database (default: the (default) database)
      --emulator-host H:P  talk to an emulator (default: DATASTORE_EMULATOR_HOST)

Examples:
  dspipe migrate status --project my-app
  dspipe migrate up --project my-app --dry-run
  dspipe migrate up --project my-app --backup --to 0002-drop-legacy
  dspipe migrate run --project my-app --kind User --convert birthday:timestamp->string:date
  dspipe migrate run --kind User --rename mail=email --drop legacy --set status=str:active --dry-run

Exit codes: 0 done, 1 failed (DSPIPE_MIGRATION_FAILED names the script and entity key;
DSPIPE_MIGRATION_CHANGED a script edited after it was applied), 2 bad usage.
`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  dir: { type: 'string' },
  to: { type: 'string' },
  'allow-changed': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  examples: { type: 'string' },
  backup: { type: 'boolean' },
  'backup-root': { type: 'string' },
  namespaces: { type: 'string', multiple: true },
  writers: { type: 'string' },
  'batch-size': { type: 'string' },
  'max-conflict-attempts': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'page-size': { type: 'string' },
  kind: { type: 'string' },
  rename: { type: 'string', multiple: true },
  drop: { type: 'string', multiple: true },
  convert: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const TRANSFORM_FLAGS: Record<string, (spec: string) => BuiltinTransform> = {
  '--rename': parseRename,
  '--drop': parseDrop,
  '--convert': parseConvert,
  '--set': parseSet,
};

/** The built-in transforms in command-line order (parseArgs groups them by flag). */
export function transformsFromArgv(argv: readonly string[]): BuiltinTransform[] {
  const out: BuiltinTransform[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const parse = TRANSFORM_FLAGS[flag];
    if (parse === undefined) continue;
    const spec = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (spec === undefined) throw new DspipeError('DSPIPE_INVALID_OPTION', `${flag} needs a value`, { hint: 'see dspipe migrate --help' });
    out.push(parse(spec));
  }
  return out;
}

function countsText(c: { read: number; changed: number; deleted: number; unchanged: number; conflicts: number }, dry: boolean): string {
  const w = dry ? 'would ' : '';
  return `read ${formatCount(c.read)}, ${w}change ${formatCount(c.changed)}, ${w}delete ${formatCount(c.deleted)}, unchanged ${formatCount(c.unchanged)}` +
    (dry ? '' : `, conflicts re-read ${formatCount(c.conflicts)}`);
}

function reportText(r: MigrationReport): string {
  const lines = [`${r.name}${r.dryRun ? ' (dry run)' : ''}${r.resumed ? ' (resumed)' : ''}: ${countsText(r.counts, r.dryRun)}`];
  if (r.backupDir) lines.push(`  backup: ${r.backupDir}`);
  for (const k of r.kinds) {
    const where = `${k.namespace || '(default)'} / ${k.kind}`;
    lines.push(k.alreadyDone ? `  ${where}: done by an earlier run` : `  ${where}: ${countsText(k.counts, r.dryRun)}${k.skipped ? ` (${formatCount(k.skipped)} done before)` : ''}`);
  }
  for (const ex of r.examples) {
    lines.push(`  example ${ex.key}`, `    before: ${JSON.stringify(ex.before)}`, `    after:  ${JSON.stringify(ex.after)}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('migrate', argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(MIGRATE_HELP);
    return EXIT.OK;
  }
  const [sub, ...extra] = positionals;
  if (sub === undefined || !['status', 'up', 'run'].includes(sub) || extra.length > 0) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', sub === undefined ? 'migrate needs a subcommand' : `unexpected ${JSON.stringify(extra[0] ?? sub)}`, {
      hint: 'dspipe migrate status | up | run --kind KIND ... (see dspipe migrate --help)',
    });
  }
  const transforms = transformsFromArgv(argv);
  if (sub !== 'run' && (transforms.length > 0 || values.kind !== undefined)) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `--kind and built-in transforms belong to migrate run, not migrate ${sub}`, { hint: 'see dspipe migrate --help' });
  }
  const progress = createProgress({ enabled: values.quiet ? false : undefined });
  const tasks = new Map<string, ProgressTask>();
  const onEvent = (e: MigrateEvent) => {
    const id = 'namespace' in e ? `${e.name}\u0000${e.namespace}\u0000${e.kind}` : '';
    if (e.type === 'migration-start') progress.setHeader(`${e.dryRun ? 'dry run of ' : ''}${e.name}${e.resumed ? ' (resuming)' : ''}`);
    else if (e.type === 'kind-start') tasks.set(id, progress.task(`${e.namespace || '(default)'} / ${e.kind}`));
    else if (e.type === 'kind-progress') tasks.get(id)?.update(e.counts.read);
    else if (e.type === 'kind-done') tasks.get(id)?.done();
    else if (e.type === 'backup') progress.log(e.skipped ? `backup kept from the first run: ${e.dir}` : `backup written: ${e.dir}`);
    else if (e.type === 'warning') progress.warn(`dspipe: warning: ${e.message}`);
    else if (e.type === 'changed-allowed') process.stderr.write(`dspipe: warning: ${e.name} changed after it was applied (--allow-changed)\n`);
  };
  const str = (flag: string) => values[flag] as string | undefined;
  const context: MigrateContext = { connection: connectionFrom(values as Parameters<typeof connectionFrom>[0]), onEvent };
  const options: MigrateCommandOptions = {
    ...(values.dir !== undefined && { dir: values.dir as string }),
    ...(values.to !== undefined && { to: values.to as string }),
    allowChanged: values['allow-changed'] === true,
    dryRun: values['dry-run'] === true,
    backup: values.backup === true,
    ...(values['backup-root'] !== undefined && { backupRoot: values['backup-root'] as string }),
    ...(values.namespaces !== undefined && { namespaces: values.namespaces as string[] }),
    pageSize: str('page-size'),
    examples: str('examples'),
    writers: str('writers'),
    batchSize: str('batch-size'),
    maxConflictAttempts: str('max-conflict-attempts'),
    checkpointEvery: str('checkpoint-every'),
  };
  const out = (text: string, json: unknown) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : text);
  try {
    if (sub === 'status') {
      const entries = await migrateStatus(options, context);
      const rows = [['migration', 'state', 'finished', 'changed', 'deleted', 'description']];
      for (const e of entries) {
        const r = e.record;
        rows.push([e.name, e.state, r?.finishedAt?.slice(0, 19).replace('T', ' ') ?? '', r ? formatCount(r.counts.changed) : '', r ? formatCount(r.counts.deleted) : '', e.description]);
      }
      out(entries.length === 0 ? `no migrations in ${options.dir ?? DEFAULT_MIGRATIONS_DIR}\n` : formatTable(rows), entries);
    } else if (sub === 'up') {
      const result = await migrateUp(options, context);
      progress.stop();
      out(result.migrations.length === 0 ? 'nothing to do: every migration is applied\n' : result.migrations.map(reportText).join(''), result);
    } else {
      const report = await migrateRun({ ...options, ...(values.kind !== undefined && { kind: values.kind as string }), transforms }, context);
      progress.stop();
      out(reportText(report), report);
    }
  } finally {
    progress.stop();
  }
  return EXIT.OK;
}
