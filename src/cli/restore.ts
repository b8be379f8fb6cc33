/**
 * `dspipe restore`: flags → restore(), progress on stderr, a summary at the end.
 */
import { CONNECTION_OPTIONS, connectionFrom, EXIT, parseCommandArgs } from './run.js';
import { createProgress, formatBytes, formatCount, formatDuration, formatTable, type ProgressTask } from './progress.js';
import { restore, type RestoreCommandOptions, type RestoreEvent, type RestoreResult } from '../commands/restore.js';
import { DEFAULT_RESTORE_CONCURRENCY, DEFAULT_WRITERS } from '../options/restore.js';
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { DspipeError } from '../errors.js';
import { DEFAULT_ROOT } from '../options/validate.js';

export const RESTORE_HELP = `dspipe restore — write a dump back, exactly, into any project, database and namespace

Usage: dspipe restore -n NAME [options]
       dspipe restore --in DIR|- [options]

Reads <root>/<NAME>/ (manifest.json and one file per kind), verifies all of it
— every file's size and sha256, every entity count, every line — and only then
writes. A damaged or incomplete dump is refused with the file (and line) named,
and nothing is written. Every numeric id written is reserved (ReserveIds), so
Datastore never allocates a restored id again.

What:
  -n, --name NAME          dump to restore: the folder <root>/NAME
      --root DIR           folder holding dumps and options.json (default: ${DEFAULT_ROOT})
      --in DIR|-           restore the dump folder DIR, or NDJSON (plain or zstd) from stdin;
                           stdin is spooled to a temp file and verified before writing
      --kinds LIST         kinds to restore, comma-separated; -NAME excludes, * matches any run
                           (default: all)
      --namespaces LIST    namespaces to restore, same syntax; (default) is the default namespace
                           (default: all)

Where to (every key moves: entity keys and key values in properties, arrays, embedded entities):
      --project ID         target project (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)
      --database ID        target database (default: the (default) database)
      --namespace-map OLD=NEW  write namespace OLD as NEW; repeatable; (default) names the
                           default namespace (default: namespaces unchanged)
                           Key values that point outside the dumped project/database are kept
                           as they are: they name data the dump does not hold.
      --emulator-host H:P  talk to an emulator (default: DATASTORE_EMULATOR_HOST)

How:
      --mode upsert|insert upsert overwrites existing entities; insert refuses keys that exist
                           and names them (default: upsert)
      --concurrency N      kinds restored at once (default: ${DEFAULT_RESTORE_CONCURRENCY})
      --writers N          concurrent commits per kind (default: ${DEFAULT_WRITERS})
      --batch-size N       most entities per commit (default: ${DEFAULT_MAX_BATCH_OPS}); batches are always
                           also cut by encoded size under the 10 MiB request limit
      --batch-bytes N      most encoded mutation bytes per commit (default: ${DEFAULT_MAX_BATCH_BYTES})
      --options FILE       per-kind overrides (default: <root>/options.json), e.g.
                           {"restore": {"BbsImage": {"batchSize": 1, "writers": 1}}}
      --on-error fail|skip an entity Datastore refuses (too large, indexed string over 1,500
                           bytes): fail names its key; skip writes it to the rejects file and
                           goes on (default: fail)
      --rejects FILE       where skipped entities go, one NDJSON line each
                           {"error","namespace","kind","entity"} (default: <dump>/rejects.ndjson,
                           or dspipe-rejects-<time>.ndjson for stdin)
      --dry-run            verify the dump and report what would be written; write nothing

Output:
  -q, --quiet              no progress, no summary
      --json               print the summary as JSON on stdout

Examples:
  dspipe restore -n 20261122 --project my-app
  dspipe restore -n 20261122 --emulator-host localhost:8081 --dry-run
  dspipe restore -n 20261122 --project my-app-staging --namespace-map '(default)=prod-copy'
  dspipe restore --in _backup/20261122 --kinds User,Order --mode insert
  dspipe restore -n nightly --on-error skip --writers 8 --concurrency 8
  dspipe dump --out - --kinds User --project a | dspipe restore --in - --project b

Exit codes: 0 done, 1 failed (corrupt dump, refused entity, RPC failure), 2 bad usage, 130 interrupted.
`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  name: { type: 'string', short: 'n' },
  root: { type: 'string' },
  in: { type: 'string' },
  kinds: { type: 'string', multiple: true },
  namespaces: { type: 'string', multiple: true },
  'namespace-map': { type: 'string', multiple: true },
  mode: { type: 'string' },
  concurrency: { type: 'string' },
  writers: { type: 'string' },
  'batch-size': { type: 'string' },
  'batch-bytes': { type: 'string' },
  options: { type: 'string' },
  'on-error': { type: 'string' },
  rejects: { type: 'string' },
  'dry-run': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

function optionsFrom(values: Values): RestoreCommandOptions {
  const options: RestoreCommandOptions = {};
  const set = <K extends keyof RestoreCommandOptions>(key: K, flag: string) => {
    if (values[flag] !== undefined) options[key] = values[flag] as RestoreCommandOptions[K];
  };
  set('name', 'name');
  set('root', 'root');
  set('in', 'in');
  set('kinds', 'kinds');
  set('namespaces', 'namespaces');
  set('namespaceMap', 'namespace-map');
  set('mode', 'mode');
  set('concurrency', 'concurrency');
  set('writers', 'writers');
  set('batchSize', 'batch-size');
  set('batchBytes', 'batch-bytes');
  set('optionsFile', 'options');
  set('onError', 'on-error');
  set('rejects', 'rejects');
  set('dryRun', 'dry-run');
  return options;
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
  const target = `project ${result.target.projectId}${result.target.databaseId ? ` database ${result.target.databaseId}` : ''}`;
  if (result.dryRun) {
    return `${formatTable(rows)}dry run: ${result.source} verified, ${formatCount(result.entities)} entities in ${result.kinds.length} kinds would be written to ${target}\n`;
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

/** Refused reservations named one by one before the rest are only counted. */
const UNRESERVED_SHOWN = 10;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('restore', argv, OPTIONS, true);
  if (values.help) {
    process.stdout.write(RESTORE_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `unexpected argument ${JSON.stringify(positionals[0])}`, { hint: 'name the dump with -n NAME or --in DIR; see dspipe restore --help' });
  }
  const quiet = values.quiet === true;
  const json = values.json === true;
  const progress = createProgress({ enabled: process.stderr.isTTY === true && !quiet && !json });
  const tasks = new Map<string, ProgressTask>();
  let unreserved = 0;
  const onEvent = (e: RestoreEvent) => {
    if (e.type === 'start') return;
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
  const controller = new AbortController();
  const onSignal = () => controller.abort(new DspipeError('DSPIPE_IO', 'interrupted', { hint: 'run the restore again: upserts are idempotent' }));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const connection = connectionFrom(values as Parameters<typeof connectionFrom>[0]);
    const result = await restore(optionsFrom(values), { connection, onEvent, signal: controller.signal });
    progress.stop();
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (!quiet) process.stderr.write(restoreSummary(result));
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (controller.signal.aborted) {
      process.stderr.write('dspipe: restore interrupted; run it again to finish (upserts are idempotent)\n');
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
