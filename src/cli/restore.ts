/**
 * `dspipe restore`: flags → restore(), progress on stderr, a summary at the end.
 */
import type { Command } from 'commander';
import { confirmWrite, connectionFrom, EXIT, targetText } from './run.js';
import { jsonOutput, printJson, printJsonError } from './json.js';
import { act, addConnectionOptions, defined, opt, subcommand } from './program.js';
import { createProgress, formatBytes, formatCount, formatDuration, formatTable, type ProgressTask } from './progress.js';
import type { RestoreCommandOptions, RestoreEvent, RestoreResult } from '../commands/restore.js';
import { DEFAULT_RESTORE_CONCURRENCY, DEFAULT_WRITERS } from '../options/restore.js';
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { DspipeError } from '../errors.js';
import { DEFAULT_ROOT } from '../options/validate.js';
import { addWriteRateOptions, rateText } from './write-rate.js';

export const RESTORE_SUMMARY = 'write a dump back, exactly, into any project/database/namespace';

export interface RestoreFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  rpcTimeout?: string;
  name?: string;
  root?: string;
  in?: string;
  kinds?: string[];
  namespaces?: string[];
  namespaceMap?: string[];
  mode?: 'upsert' | 'insert'; // any string from the command line: the options normaliser refuses the others, naming the flag
  concurrency?: string;
  writers?: string;
  batchSize?: string;
  batchBytes?: string;
  maxRps?: string;
  ramp?: string;
  shard?: string;
  shardCount?: string;
  transport?: 'wire' | 'object'; // any string from the command line: the options normaliser refuses the others, naming the flag
  options?: string;
  onError?: 'fail' | 'skip'; // any string from the command line: the options normaliser refuses the others, naming the flag
  rejects?: string;
  dryRun?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const What = 'What:';
  const Where = 'Where to (every key moves: entity keys and key values in properties, arrays, embedded entities):';
  const How = 'How:';
  const Out = 'Output:';
  const cmd = subcommand(program, 'restore', RESTORE_SUMMARY)
    .description(`write a dump back, exactly, into any project, database and namespace

Reads <root>/<NAME>/ (manifest.json and one file per kind), verifies all of it
— every file's size and sha256, every entity count, every line — and only then
writes. A damaged or incomplete dump is refused with the file (and line) named,
and nothing is written. Every numeric id written is reserved (ReserveIds), so
Datastore never allocates a restored id again.`)
    .usage('-n NAME [options]\n       dspipe restore --in DIR|- [options]')
    .addOption(opt('-n, --name <NAME>', 'dump to restore: the folder <root>/NAME', What))
    .addOption(opt('--root <DIR>', `folder holding dumps and options.json (default: ${DEFAULT_ROOT})`, What))
    .addOption(opt('--in <DIR|->', 'restore the dump folder DIR, a managed export (gcloud datastore export: its folder or .overall_export_metadata), or NDJSON (plain or zstd) from stdin; stdin is spooled to a temp file and verified before writing', What))
    .addOption(opt('--kinds <LIST>', 'kinds to restore, comma-separated; -NAME excludes, * matches any run (default: all)', What, true))
    .addOption(opt('--namespaces <LIST>', 'namespaces to restore, same syntax; (default) is the default namespace (default: all)', What, true));
  addConnectionOptions(cmd, Where, {
    project: 'target project (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)',
    database: 'target database (default: the (default) database)',
  })
    .addOption(opt('--namespace-map <OLD=NEW>', 'write namespace OLD as NEW; repeatable; (default) names the default namespace (default: namespaces unchanged). Key values that point outside the dumped project/database are kept as they are: they name data the dump does not hold.', Where, true))
    .addOption(opt('--mode <upsert|insert>', 'upsert overwrites existing entities; insert refuses keys that exist and names them (default: upsert)', How))
    .addOption(opt('--concurrency <N>', `kinds restored at once (default: ${DEFAULT_RESTORE_CONCURRENCY})`, How))
    .addOption(opt('--writers <N>', `concurrent commits per kind (default: ${DEFAULT_WRITERS})`, How))
    .addOption(opt('--batch-size <N>', `most entities per commit (default: ${DEFAULT_MAX_BATCH_OPS}); batches are always also cut by encoded size under the 10 MiB request limit`, How))
    .addOption(opt('--batch-bytes <N>', `most encoded mutation bytes per commit (default: ${DEFAULT_MAX_BATCH_BYTES})`, How))
    .addOption(opt('--options <FILE>', 'per-kind overrides (default: <root>/options.json), e.g. {"restore": {"BbsImage": {"batchSize": 1, "writers": 1}}}', How))
    .addOption(opt('--on-error <fail|skip>', 'an entity Datastore refuses (too large, indexed string over 1,500 bytes): fail names its key; skip writes it to the rejects file and goes on (default: fail)', How))
    .addOption(opt('--rejects <FILE>', 'where skipped entities go, one NDJSON line each {"error","namespace","kind","entity"} (default: <dump>/rejects.ndjson, or dspipe-rejects-<time>.ndjson for stdin)', How))
    .addOption(opt('--dry-run', 'verify the dump and report what would be written; write nothing', How))
    .addOption(opt('--transport <wire|object>', "wire: dump lines straight to Commit bytes; object: through the client library's entity objects, the older, slower path (for reporting a difference) (default: wire)", How));
  addWriteRateOptions(cmd, How)
    .addOption(opt('--shard <I/N|auto>', 'write only this task\'s share of the dump: task I of N, from 0 (auto: CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT, or JOB_COMPLETION_INDEX with --shard-count); the N tasks together write every entity once; a task run again writes its share again (upserts)', How))
    .addOption(opt('--shard-count <N>', 'with --shard auto in a Kubernetes Indexed Job: the number of tasks', How))
    .addOption(opt('-q, --quiet', 'no progress, no summary', Out))
    .addOption(opt('--json', 'print the summary as JSON on stdout', Out))
    .addHelpText('after', `
Examples:
  dspipe restore -n 20261122 --project my-app
  dspipe restore -n 20261122 --emulator-host localhost:8081 --dry-run
  dspipe restore -n 20261122 --project my-app-staging --namespace-map '(default)=prod-copy'
  dspipe restore --in _backup/20261122 --kinds User,Order --mode insert
  dspipe restore -n nightly --on-error skip --writers 8 --concurrency 8
  dspipe dump --out - --kinds User --project a | dspipe restore --in - --project b

Writing to a real project (no emulator) needs that project named on the command
line with --project; one from GOOGLE_CLOUD_PROJECT alone is refused (exit 2).

Exit codes: 0 done, 1 failed (corrupt dump, refused entity, RPC failure), 2 bad usage or not confirmed, 130 interrupted.`)
    .action(act((flags: RestoreFlags) => run(flags)));
}

/** The library's options: the flags minus connection and output, --options as optionsFile. */
function optionsFrom(flags: RestoreFlags): RestoreCommandOptions {
  const { project: _p, database: _d, emulatorHost: _e, rpcTimeout: _t, quiet: _q, json: _j, options, ...same } = flags;
  return defined({ ...same, optionsFile: options });
}

const label = (namespace: string, kind: string) => (namespace === '' ? kind : `${namespace}/${kind}`);
const nsName = (ns: string) => (ns === '' ? '(default)' : ns);

export function restoreSummary(result: RestoreResult): string {
  const rows = [['namespace', 'kind', 'entities', result.dryRun ? 'would write to' : 'written', 'rejected']];
  for (const k of result.kinds) {
    rows.push([
      nsName(k.namespace),
      k.kind.length > 40 ? `${k.kind.slice(0, 39)}…` : k.kind,
      formatCount(k.entities),
      result.dryRun ? nsName(k.targetNamespace) : formatCount(k.written),
      formatCount(k.rejected),
    ]);
  }
  const target = targetText(result.target);
  if (result.dryRun) {
    return `${formatTable(rows)}dry run: ${result.source === '-' ? 'stdin' : result.source} verified, ${formatCount(result.entities)} entities in ${result.kinds.length} kinds would be written to ${target}\n`;
  }
  const rate = result.seconds > 0 ? result.written / result.seconds : 0;
  return (
    formatTable(rows) +
    `${formatCount(result.written)} entities (${formatBytes(result.bytes)}) written to ${target} in ${formatDuration(result.seconds)}` +
    ` (${formatCount(rate)} entities/s), ${formatCount(result.reservedIds)} ids reserved, ${formatCount(result.commits)} commits` +
    `${result.retries ? `, ${result.retries} retries` : ''}` +
    `${result.unreservedIds ? `\nids not reserved: ${formatCount(result.unreservedIds)} (the backend refused them${result.unreservedIds > UNRESERVED_SHOWN ? `; the first ${UNRESERVED_SHOWN} are named above` : ', named above'}): Datastore may allocate them to new entities` : ''}` +
    `${result.rejected ? `\n${formatCount(result.rejected)} entities refused by Datastore → ${result.rejectsFile}` : ''}\n`
  );
}

/** What to do after an interrupted restore, which depends on the mode. */
export function rerunAdvice(mode: string | undefined): string {
  if (mode === 'insert') {
    return 'what it wrote is there now, so the same command with --mode insert would fail on those keys: ' +
      'finish with --mode upsert (it writes the dump\'s data over them and the rest), or clear the target and run it again';
  }
  return 'run it again to finish (upserts are idempotent: entities already written are written again, unchanged)';
}

/** Refused reservations named one by one before the rest are only counted. */
const UNRESERVED_SHOWN = 10;

export async function run(flags: RestoreFlags): Promise<number> {
  const { restore } = await import('../commands/restore.js');
  const quiet = flags.quiet === true;
  const json = jsonOutput('restore', flags);
  const progress = createProgress({ enabled: process.stderr.isTTY === true && !quiet && !json });
  const tasks = new Map<string, ProgressTask>();
  let unreserved = 0;
  const onEvent = (e: RestoreEvent) => {
    if (e.type === 'start') return;
    if (e.type === 'rate') return progress.log(rateText(e));
    if (e.type === 'id-not-reserved') {
      // Each one is named, up to a screenful; the summary counts them all.
      if (++unreserved <= UNRESERVED_SHOWN) progress.warn(`dspipe: warning: id not reserved: ${e.key}: ${e.error}`);
      return;
    }
    const id = JSON.stringify([e.phase, e.namespace, e.kind]);
    if (e.type === 'kind-start') {
      tasks.set(id, progress.task(`${e.phase} ${label(e.namespace, e.kind)}`, e.total));
      return;
    }
    tasks.get(id)?.update(e.entities);
    if (e.type === 'kind-done') {
      tasks.get(id)?.done();
      tasks.delete(id);
    }
  };
  if (flags.dryRun !== true) confirmWrite('restore', flags);
  const advice = rerunAdvice(flags.mode);
  const controller = new AbortController();
  const onSignal = () => controller.abort(new DspipeError('DSPIPE_IO', 'interrupted', { hint: advice }));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const connection = connectionFrom(flags);
    const result = await restore(optionsFrom(flags), { connection, onEvent, signal: controller.signal });
    progress.stop();
    if (json) printJson(result);
    else if (!quiet) process.stderr.write(restoreSummary(result));
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (controller.signal.aborted) {
      printJsonError(controller.signal.reason);
      process.stderr.write(`dspipe: restore interrupted; ${advice}\n`);
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
