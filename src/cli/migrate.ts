/**
 * `dspipe migrate status|up|run`: flags → the migrate commands, progress on
 * stderr, results on stdout (a table, or JSON with --json).
 */
import type { Command } from 'commander';
import { confirmWrite, connectionFrom, EXIT } from './run.js';
import { jsonOutput, printJson, printJsonError } from './json.js';
import { DspipeError } from '../errors.js';
import { act, addConnectionOptions, opt, subcommand } from './program.js';
import { createProgress, formatCount, formatTable, type ProgressTask } from './progress.js';
import type { MigrateCommandOptions, MigrateContext, MigrateEvent, MigrationReport } from '../commands/migrate.js';
import { DEFAULT_MIGRATIONS_DIR, normalizeMigrateOptions } from '../options/migrate.js';
import { addWriteRateOptions, rateText } from './write-rate.js';
import { parseConvert, parseDrop, parseRename, parseSet, type BuiltinTransform } from '../format/transforms.js';

const D = normalizeMigrateOptions();

export const MIGRATE_SUMMARY = 'rewrite entities in place when the data model changes';

export interface MigrateFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  dir?: string;
  to?: string;
  allowChanged?: boolean;
  dryRun?: boolean;
  examples?: string;
  backup?: boolean;
  backupRoot?: string;
  namespaces?: string[];
  writers?: string;
  batchSize?: string;
  maxConflictAttempts?: string;
  checkpointEvery?: string;
  pageSize?: string;
  maxRps?: string;
  ramp?: string;
  kind?: string;
  rename?: Ordered[];
  drop?: Ordered[];
  convert?: Ordered[];
  set?: Ordered[];
  json?: boolean;
  quiet?: boolean;
  typecheck?: boolean;
}

/** A built-in transform with its place on the command line (commander groups values by flag). */
interface Ordered {
  seq: number;
  transform: BuiltinTransform;
}
let seq = 0;
const ordered = (parse: (spec: string) => BuiltinTransform) => (spec: string, previous: Ordered[] | undefined): Ordered[] => [
  ...(previous ?? []),
  { seq: seq++, transform: parse(spec) },
];

/** The built-in transforms in command-line order, across the four flags. */
export function transformsOf(flags: Pick<MigrateFlags, 'rename' | 'drop' | 'convert' | 'set'>): BuiltinTransform[] {
  return [...(flags.rename ?? []), ...(flags.drop ?? []), ...(flags.convert ?? []), ...(flags.set ?? [])]
    .sort((a, b) => a.seq - b.seq)
    .map((o) => o.transform);
}

const SCRIPT = `Migration scripts live in --dir (default: ${DEFAULT_MIGRATIONS_DIR}/), named to sort, e.g.
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
checkpoint on the next \`up\`. A script edited after it was applied is refused.`;

const EXAMPLES = `
Examples:
  dspipe migrate status --project my-app
  dspipe migrate up --project my-app --dry-run
  dspipe migrate up --project my-app --backup --to 0002-drop-legacy
  dspipe migrate run --project my-app --kind User --convert birthday:timestamp->string:date
  dspipe migrate run --kind User --rename mail=email --drop legacy --set status=str:active --dry-run

Exit codes: 0 done, 1 failed (DSPIPE_MIGRATION_FAILED names the script and entity key;
DSPIPE_MIGRATION_CHANGED a script edited after it was applied), 2 bad usage or not
confirmed (up and run against a real project need it named with --project; one from
GOOGLE_CLOUD_PROJECT alone is refused), 130 interrupted (Ctrl-C: in-flight commits finish first).`;

/** The flags `up` and `run` share: how the rewrite runs. */
function addRewriteOptions(cmd: Command): Command {
  const G = 'How:';
  addWriteRateOptions(cmd, G);
  return cmd
    .addOption(opt('--dry-run', 'read and transform everything, write nothing; report how many entities would change or be deleted, with before/after examples (default: off)', G))
    .addOption(opt('--examples <N>', `before/after examples a dry run shows (default: ${D.examples})`, G))
    .addOption(opt('--backup', 'first dump the touched kinds to <backup-root>/pre-<migration>/ (default: off)', G))
    .addOption(opt('--backup-root <DIR>', `where --backup writes (default: ${D.backupRoot})`, G))
    .addOption(opt('--namespaces <LIST>', 'namespaces to migrate, comma-separated; -NAME excludes, * matches any run, (default) is the default namespace (default: all). For up only with --dry-run: a script limits itself with export const namespaces = \'…\'', G, true))
    .addOption(opt('--writers <N>', `concurrent commits per kind (default: ${D.writers})`, G))
    .addOption(opt('--batch-size <N>', `entities per commit at most (default: ${D.batchSize}; also capped at ~9 MiB)`, G))
    .addOption(opt('--max-conflict-attempts <N>', `times one entity is read again after concurrent writes before giving up (default: ${D.maxConflictAttempts})`, G))
    .addOption(opt('--checkpoint-every <N>', `save progress after at most N entities (default: ${D.checkpointEvery})`, G))
    .addOption(opt('--page-size <N>', 'entities per RunQuery page (default: what Datastore returns, ~300)', G));
}

function addOutputOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--json', 'print the result as JSON on stdout (default: text)', 'Output:'))
    .addOption(opt('-q, --quiet', 'no progress on stderr', 'Output:'));
}

export function register(program: Command): void {
  const migrate = subcommand(program, 'migrate', MIGRATE_SUMMARY)
    .description('rewrite entities in place when the data model changes, safely while the app writes')
    .addHelpText('after', `\n${SCRIPT}\n\nEach command's flags: dspipe migrate status|up|run|new --help\n${EXAMPLES}`);
  const dirOption = () => opt('--dir <DIR>', `folder of migration scripts (default: ${DEFAULT_MIGRATIONS_DIR})`, 'Which:');

  const status = subcommand(migrate, 'status', 'list applied, pending, interrupted and changed migrations')
    .description('list applied, pending, interrupted and changed migrations')
    .addOption(dirOption());
  addConnectionOptions(addOutputOptions(status)).addHelpText('after', EXAMPLES).action(act((flags: MigrateFlags) => run('status', flags)));

  const up = subcommand(migrate, 'up', 'run pending migrations in name order (resumes an interrupted one)')
    .description('run pending migrations in name order (resumes an interrupted one)')
    .addOption(dirOption())
    .addOption(opt('--to <NAME>', 'stop after this migration (default: run all pending)', 'Which:'))
    .addOption(opt('--allow-changed', 'go on although an applied script changed since (default: refuse)', 'Which:'))
    .addOption(opt('--typecheck', 'run the TypeScript compiler on the scripts first; any type error refuses the run, naming file:line (needs typescript; default: off)', 'Which:'));
  addConnectionOptions(addOutputOptions(addRewriteOptions(up))).addHelpText('after', `\n${SCRIPT}\n${EXAMPLES}`).action(act((flags: MigrateFlags) => run('up', flags)));

  const T = 'Built-in transforms (applied in the order given; top-level properties):';
  const runCmd = subcommand(migrate, 'run', 'apply built-in transforms to one kind, no script needed')
    .description(`apply built-in transforms to one kind, no script needed

run is not recorded in DspipeMigration; every built-in is idempotent, so after an
interruption run the same command again.`)
    .usage('--kind KIND TRANSFORM... [options]')
    .addOption(opt('--kind <KIND>', 'the kind to rewrite (required)', T))
    .addOption(opt('--rename <OLD=NEW>', 'move a property, keeping its value, index flag and meaning', T).argParser(ordered(parseRename)))
    .addOption(opt('--drop <PROP>', 'remove a property', T).argParser(ordered(parseDrop)))
    .addOption(opt('--convert <PROP:FROM->TO[:FORMAT]>', 'PROP:timestamp->string[:FORMAT] or PROP:string->timestamp[:FORMAT]; FORMAT (UTC): iso (default; RFC 3339), date (YYYY-MM-DD), epoch-ms, or a pattern with %Y %m %d %H %M %S %L (ms) %f (µs) %%, e.g. %d/%m/%Y. Other types are left alone; a string that does not parse stops the run.', T).argParser(ordered(parseConvert)))
    .addOption(opt('--set <PROP=VALUE>', 'set where missing; VALUE is int:5, double:1.5, str:text, bool:true, timestamp:2024-01-31T00:00:00Z or null', T).argParser(ordered(parseSet)));
  addConnectionOptions(addOutputOptions(addRewriteOptions(runCmd))).addHelpText('after', EXAMPLES).action(act((flags: MigrateFlags) => run('run', flags)));

  subcommand(migrate, 'new', 'write a typed migration script to start from')
    .description(`write <dir>/NNNN-NAME.ts, a typed migration script numbered after the last one

Its import from 'dspipe' resolves to the dspipe that runs it: nothing to install in the project.`)
    .argument('<NAME>', 'what it does, e.g. birthday-to-string')
    .addOption(dirOption())
    .addHelpText('after', '\nExample:\n  dspipe migrate new birthday-to-string    # migrations/0001-birthday-to-string.ts')
    .action(act(async (name: string, flags: { dir?: string }) => {
      const { createMigration } = await import('../migrate/new-script.js');
      const file = await createMigration(flags.dir ?? DEFAULT_MIGRATIONS_DIR, name);
      process.stdout.write(`${file}\nnext: edit it, then dspipe migrate up --dry-run --typecheck\n`);
      return EXIT.OK;
    }));
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

export async function run(sub: 'status' | 'up' | 'run', flags: MigrateFlags): Promise<number> {
  const json = jsonOutput(`migrate ${sub}`, flags);
  const { migrateRun, migrateStatus, migrateUp } = await import('../commands/migrate.js');
  const transforms = transformsOf(flags);
  const progress = createProgress({ enabled: flags.quiet ? false : undefined });
  const tasks = new Map<string, ProgressTask>();
  const onEvent = (e: MigrateEvent) => {
    const id = 'namespace' in e ? `${e.name}\u0000${e.namespace}\u0000${e.kind}` : '';
    if (e.type === 'migration-start') progress.setHeader(`${e.dryRun ? 'dry run of ' : ''}${e.name}${e.resumed ? ' (resuming)' : ''}`);
    else if (e.type === 'kind-start') tasks.set(id, progress.task(`${e.namespace || '(default)'} / ${e.kind}`));
    else if (e.type === 'kind-progress') tasks.get(id)?.update(e.counts.read);
    else if (e.type === 'kind-done') tasks.get(id)?.done();
    else if (e.type === 'backup') progress.log(e.skipped ? `backup kept from the first run: ${e.dir}` : `backup written: ${e.dir}`);
    else if (e.type === 'rate') progress.log(rateText(e));
    else if (e.type === 'warning') progress.warn(`dspipe: warning: ${e.message}`);
    else if (e.type === 'changed-allowed') process.stderr.write(`dspipe: warning: ${e.name} changed after it was applied (--allow-changed)\n`);
  };
  if (sub !== 'status' && flags.dryRun !== true) confirmWrite(`migrate ${sub}`, flags);
  // Ctrl-C stops gracefully: no new entity is read, the commits in flight finish, the checkpoint is saved and the
  // record says interrupted. A second Ctrl-C kills at once (still safe: up resumes from the last checkpoint).
  const controller = new AbortController();
  const onSignal = () => {
    if (!flags.quiet) process.stderr.write('dspipe: stopping: finishing the commits in flight and saving the checkpoint (Ctrl-C again to kill)\n');
    controller.abort(new DspipeError('DSPIPE_IO', 'interrupted', { hint: 'run dspipe migrate up again: it resumes from the checkpoint' }));
  };
  if (sub !== 'status') {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const context: MigrateContext = { connection: connectionFrom(flags), onEvent, signal: controller.signal };
  const options: MigrateCommandOptions = {
    ...(flags.dir !== undefined && { dir: flags.dir }),
    ...(flags.to !== undefined && { to: flags.to }),
    allowChanged: flags.allowChanged === true,
    dryRun: flags.dryRun === true,
    backup: flags.backup === true,
    ...(flags.backupRoot !== undefined && { backupRoot: flags.backupRoot }),
    ...(flags.namespaces !== undefined && { namespaces: flags.namespaces }),
    pageSize: flags.pageSize,
    examples: flags.examples,
    writers: flags.writers,
    batchSize: flags.batchSize,
    maxConflictAttempts: flags.maxConflictAttempts,
    checkpointEvery: flags.checkpointEvery,
    typecheck: flags.typecheck === true,
    maxRps: flags.maxRps,
    ramp: flags.ramp,
  };
  const out = (text: string, result: object) => (json ? printJson(result) : process.stdout.write(text));
  try {
    if (sub === 'status') {
      const entries = await migrateStatus(options, context);
      const rows = [['migration', 'state', 'finished', 'changed', 'deleted', 'description']];
      for (const e of entries) {
        const r = e.record;
        rows.push([e.name, e.state, r?.finishedAt?.slice(0, 19).replace('T', ' ') ?? '', r ? formatCount(r.counts.changed) : '', r ? formatCount(r.counts.deleted) : '', e.description]);
      }
      out(entries.length === 0 ? `no migrations in ${options.dir ?? DEFAULT_MIGRATIONS_DIR}\n` : formatTable(rows), { migrations: entries });
    } else if (sub === 'up') {
      const result = await migrateUp(options, context);
      progress.stop();
      out(result.migrations.length === 0 ? 'nothing to do: every migration is applied\n' : result.migrations.map(reportText).join(''), result);
    } else {
      const report = await migrateRun({ ...options, ...(flags.kind !== undefined && { kind: flags.kind }), transforms }, context);
      progress.stop();
      out(reportText(report), report);
    }
  } catch (err) {
    progress.stop();
    if (controller.signal.aborted) {
      printJsonError(controller.signal.reason);
      process.stderr.write(`dspipe: migrate ${sub} interrupted; the commits in flight finished and progress is saved. ${sub === 'up' ? 'Run migrate up again to resume.' : 'Run the same command again: entities done are left as they are.'}\n`);
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return EXIT.OK;
}
