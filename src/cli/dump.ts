/**
 * `dspipe dump`: flags → dump(), progress on stderr, a summary at the end.
 * Broken pipes (`dspipe dump --out - | head -1`) end quietly with exit 0;
 * Ctrl-C stops after writing the manifest, so `--resume` can finish the job.
 */
import type { Command } from 'commander';
import { connectionFrom, EXIT, isBrokenPipe, targetText } from './run.js';
import { jsonOutput, printJson, printJsonError } from './json.js';
import { act, addConnectionOptions, defined, opt, subcommand } from './program.js';
import { createProgress, formatBytes, formatCount, formatDuration, formatTable, type ProgressTask } from './progress.js';
import type { DumpEvent, DumpRunOptions, DumpSummary } from '../commands/dump.js';
import { DUMP_DEFAULTS } from '../options/dump.js';
import { DspipeError } from '../errors.js';
import { addShardOptions } from './shard-options.js';

export const DUMP_SUMMARY = 'dump every kind of every namespace to _backup/NAME (or stdout)';

/** The flags as commander hands them over (camelCase; strings until src/options/ validates them). */
export interface DumpFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  rpcTimeout?: string;
  name?: string;
  root?: string;
  out?: string;
  force?: boolean;
  resume?: boolean;
  namespaces?: string[];
  kinds?: string[];
  compress?: 'zstd' | 'none'; // any string from the command line: the options normaliser refuses the others, naming the flag
  level?: string;
  splits?: string;
  concurrency?: string;
  pageSize?: string;
  snapshot?: boolean;
  readTime?: string;
  transport?: 'wire' | 'object'; // any string from the command line: the options normaliser refuses the others, naming the flag
  options?: string;
  format?: 'dump' | 'export'; // any string from the command line: the options normaliser refuses the others, naming the flag
  strict?: boolean;
  plan?: boolean;
  shard?: string;
  shardCount?: string;
  finalize?: boolean;
  partEntities?: string;
  quiet?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const W = 'Where to:';
  const What = 'What:';
  const How = 'How:';
  const Out = 'Output:';
  const cmd = subcommand(program, 'dump', DUMP_SUMMARY)
    .description(`dump every kind of every namespace, as one consistent snapshot

Writes <root>/<NAME>/: one <namespace>/<kind>.ndjson.zst per kind (one entity
per line, Datastore v1 REST JSON), manifest.json and dump.log.`)
    .usage('[-n NAME] [options]')
    .addOption(opt('-n, --name <NAME>', 'dump name, the folder under --root (default: UTC time, e.g. 20261122T094500Z)', W))
    .addOption(opt('--root <DIR>', `folder holding dumps (default: ${DUMP_DEFAULTS.root})`, W))
    .addOption(opt('-o, --out <->', 'write NDJSON of every selected kind to stdout instead of a folder', W))
    .addOption(opt('--force', 'replace an existing dump of the same name', W))
    .addOption(opt('--resume', "finish an interrupted dump: keep completed kinds, redo the rest (at the dump's original read time)", W))
    .addOption(opt('--namespaces <LIST>', 'namespaces to dump, comma-separated; -NAME excludes, * matches any run, (default) is the default namespace (default: all)', What, true))
    .addOption(opt('--kinds <LIST>', 'kinds to dump, same syntax (default: all; __*__ kinds never)', What, true))
    .addOption(opt('--format <dump|export>', "dump: dspipe's own folder (the default); export: a Datastore managed export that gcloud datastore import reads (one folder per namespace and kind)", W))
    .addOption(opt('--strict', 'with --format export: refuse entities the export format cannot keep exactly (default: warn with the key)', W))
    .addOption(opt('--compress <zstd|none>', 'file compression (default: zstd; none when --out -)', How))
    .addOption(opt('--level <N>', `zstd level 1..22 (default: ${DUMP_DEFAULTS.level})`, How))
    .addOption(opt('--splits <N|auto>', `key ranges read in parallel per kind, from a __scatter__ sample (default: auto = one per ${formatCount(DUMP_DEFAULTS.autoSplitMinEntities)} entities, at most ${DUMP_DEFAULTS.autoSplits}, more while fewer kinds than --concurrency are read: ${DUMP_DEFAULTS.autoSplits} × --concurrency readers in all)`, How))
    .addOption(opt('--concurrency <N>', `kinds read at once (default: ${DUMP_DEFAULTS.concurrency})`, How))
    .addOption(opt('--page-size <N>', 'entities per RunQuery page (default: what Datastore returns, ~300)', How))
    .addOption(opt('--no-snapshot', "read current data instead of one snapshot; needed for dumps that outlast the database's version retention (1 hour without PITR)", How))
    .addOption(opt('--read-time <T>', 'read the snapshot at RFC 3339 time T instead of now', How))
    .addOption(opt('--options <FILE>', 'per-kind overrides (default: <root>/options.json), e.g. {"dump": {"ChatMessage": {"splits": 1, "pageSize": 100}}}', How))
    .addOption(opt('--transport <wire|object>', "wire: RunQuery bytes straight to dump lines; object: through the client library's entity objects, the older, slower path (same output; for reporting a difference) (default: wire)", How))
    .addOption(opt('-q, --quiet', 'no progress, no summary', Out))
    .addOption(opt('--json', 'print the summary as JSON (on stdout; on stderr with --out -)', Out));
  addShardOptions(cmd, 'Across many machines (see "Large databases" in the README):');
  addConnectionOptions(cmd, 'Connection:', {
    project: 'project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID; production uses Application Default Credentials)',
  })
    .addHelpText('after', `
Examples:
  dspipe dump --project my-app -n 20261122
  dspipe dump --emulator-host localhost:8081 --kinds User,Order --namespaces '(default)'
  dspipe dump -n nightly --kinds '-AuditLog,-Session*' --splits 8 --concurrency 8
  dspipe dump --project my-app -n for-gcloud --format export && gcloud storage cp -r _backup/for-gcloud gs://my-bucket/
  dspipe dump -n nightly --resume
  dspipe dump --out - --kinds User | jq -c .properties
  dspipe dump --out - --compress zstd | ssh backup 'cat > db.ndjson.zst'

Exit codes: 0 done (also when the reader of --out - closes the pipe early),
1 failed (or the dump exists: see --force/--resume), 2 bad usage, 130 interrupted.`)
    .action(act((flags: DumpFlags) => run(flags)));
}

/** The library's options: the flags minus connection and output, --options as optionsFile. */
function optionsFrom(flags: DumpFlags): DumpRunOptions {
  const { project: _p, database: _d, emulatorHost: _e, rpcTimeout: _t, quiet: _q, json: _j, options, snapshot, ...same } = flags;
  return defined({ ...same, optionsFile: options, snapshot: snapshot === false ? false : undefined });
}

function kindLabel(namespace: string, kind: string): string {
  return namespace === '' ? kind : `${namespace}/${kind}`;
}

export function summaryTable(summary: DumpSummary): string {
  const rows = [['namespace', 'kind', 'entities', 'raw', 'written', 'time']];
  for (const k of summary.kinds) {
    rows.push([
      k.namespace === '' ? '(default)' : k.namespace,
      k.kind.length > 40 ? `${k.kind.slice(0, 39)}…` : k.kind,
      formatCount(k.entities),
      formatBytes(k.rawBytes),
      k.file === '-' ? '-' : formatBytes(k.bytes),
      k.resumed ? 'kept' : `${k.seconds.toFixed(1)} s`,
    ]);
  }
  const rate = summary.seconds > 0 ? summary.entities / summary.seconds : 0;
  return (
    formatTable(rows) +
    `${formatCount(summary.entities)} entities of ${targetText(summary.target)}, ${formatBytes(summary.rawBytes)} NDJSON → ${formatBytes(summary.bytes)} in ${formatDuration(summary.seconds)}` +
    ` (${formatCount(rate)} entities/s)${summary.retries ? `, ${summary.retries} retries` : ''}` +
    `${summary.dir ? `\n→ ${summary.dir}` : ''}${summary.readTime ? ` at read time ${summary.readTime}` : ' (current data, not a snapshot)'}\n`
  );
}


export async function run(flags: DumpFlags): Promise<number> {
  const options = optionsFrom(flags);
  if (flags.plan || flags.shard !== undefined || flags.finalize) return (await import('./dump-shard.js')).runSharded(flags, options);
  const { dump } = await import('../commands/dump.js');
  const toStdout = options.out === '-';
  const quiet = flags.quiet === true;
  const json = jsonOutput('dump', flags, toStdout ? process.stderr : process.stdout);
  const progress = createProgress({ enabled: process.stderr.isTTY === true && !quiet && !json });
  const tasks = new Map<string, ProgressTask>();
  let kindsTotal = 0;
  let name = '';
  const onEvent = (e: DumpEvent) => {
    const id = e.type === 'start' || e.type === 'retry' || e.type === 'warning' ? '' : JSON.stringify([e.namespace, e.kind]);
    switch (e.type) {
      case 'start':
        kindsTotal = e.kinds.length;
        name = e.name;
        progress.setHeader(`dump ${toStdout ? 'to stdout' : e.name}: ${e.resumed}/${kindsTotal} kinds`);
        break;
      case 'kind-start':
        tasks.set(id, progress.task(kindLabel(e.namespace, e.kind), e.total));
        break;
      case 'kind-progress':
        tasks.get(id)?.update(e.entities, e.rawBytes);
        break;
      case 'kind-done':
        tasks.get(id)?.done();
        tasks.delete(id);
        progress.setHeader(`dump ${toStdout ? 'to stdout' : name}: ${progress.completedTasks}/${kindsTotal} kinds`);
        break;
      case 'retry':
        progress.log(`retrying ${e.kind !== undefined ? `${kindLabel(e.namespace ?? '', e.kind)} ` : ''}in ${e.delayMs} ms: ${e.error}`);
        break;
      case 'warning':
        progress.warn(`dspipe: warning: ${e.message}`);
        break;
    }
  };

  const controller = new AbortController();
  const onSignal = () => controller.abort(new DspipeError('DSPIPE_IO', 'interrupted', { hint: 'run the same command with --resume to finish the dump' }));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const connection = connectionFrom(flags);
    const summary = await dump(options, { connection, signal: controller.signal, onEvent });
    progress.stop();
    if (json) printJson(summary);
    else if (!quiet) process.stderr.write(summaryTable(summary));
    return EXIT.OK;
  } catch (err) {
    progress.stop();
    if (toStdout && isBrokenPipe(err)) return EXIT.OK;
    if (controller.signal.aborted) {
      printJsonError(controller.signal.reason);
      process.stderr.write(`dspipe: dump interrupted${toStdout ? '' : '; finish it with the same command and --resume'}\n`);
      return EXIT.INTERRUPTED;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
