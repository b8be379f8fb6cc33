/**
 * `dspipe convert PATH`: a managed export to a dspipe dump folder, or a dspipe
 * dump folder to a managed export; progress and warnings on stderr.
 */
import type { Command } from 'commander';
import { EXIT } from './run.js';
import { act, defined, opt, subcommand } from './program.js';
import { createProgress, formatCount, type ProgressTask } from './progress.js';
import type { ConvertEvent } from '../commands/convert.js';

export const CONVERT_SUMMARY = 'turn a managed export into a dump folder, or a dump folder into a managed export';

export interface ConvertFlags {
  name?: string;
  root?: string;
  out?: string;
  strict?: boolean;
  concurrency?: string;
  compress?: 'zstd' | 'none'; // any string from the command line: the options normaliser refuses the others, naming the flag
  quiet?: boolean;
}

export function register(program: Command): void {
  const To = 'Where to:';
  const How = 'How:';
  subcommand(program, 'convert', CONVERT_SUMMARY)
    .description(`turn a managed export into a dump folder, or a dump folder into a managed export

PATH is either a Datastore managed export (what gcloud datastore export writes:
its folder, or its .overall_export_metadata) or a dspipe dump folder; the
result is the other format, written to <root>/NAME or --out DIR (which must not
exist). Nothing is written before the input is checked: an export is read in
full first (every file, CRC and count), a dump's files against its manifest.

An export written by convert has one folder per namespace and kind, so
gcloud datastore import --kinds / --namespaces can import part of it. Values
the export format cannot keep exactly (an array mixing indexed and unindexed
values loses its order; key values into other projects are rewritten by
Google's importer) are warned about with the entity's key; --strict refuses them.`)
    .usage('PATH (-n NAME | --out DIR) [options]')
    .argument('[path]')
    .addOption(opt('-n, --name <NAME>', 'write <root>/NAME', To))
    .addOption(opt('--root <DIR>', 'folder holding dumps (default: _backup)', To))
    .addOption(opt('--out <DIR>', 'write DIR instead of <root>/NAME', To))
    .addOption(opt('--strict', 'refuse entities the export format cannot keep exactly (dump to export; default: warn and write)', How))
    .addOption(opt('--concurrency <N>', 'kinds converted at once (dump to export; default: 4)', How))
    .addOption(opt('--compress <zstd|none>', 'compression of the dump\'s kind files (export to dump; default: zstd)', How))
    .addOption(opt('-q, --quiet', 'no progress on stderr (warnings still)', How))
    .addHelpText('after', `
Examples:
  gcloud storage cp -r gs://my-bucket/2026-12-01T20:08:43_215 .
  dspipe convert ./2026-12-01T20:08:43_215 -n from-export       # -> _backup/from-export, a dump
  dspipe convert _backup/20261122 --out ./for-gcloud --strict    # -> a managed export
  gcloud storage cp -r ./for-gcloud gs://my-bucket/for-gcloud
  gcloud datastore import gs://my-bucket/for-gcloud/for-gcloud.overall_export_metadata

Exit codes: 0 done, 1 failed, 2 bad usage.`)
    .action(act((path: string | undefined, flags: ConvertFlags) => run(path, flags)));
}

export async function run(path: string | undefined, flags: ConvertFlags): Promise<number> {
  const { convert } = await import('../commands/convert.js');
  const progress = createProgress({ enabled: flags.quiet ? false : undefined });
  const tasks = new Map<string, ProgressTask>();
  const onEvent = (e: ConvertEvent) => {
    if (e.type === 'lossy') return progress.warn(`dspipe: warning: ${e.key}${e.namespace ? ` in namespace ${JSON.stringify(e.namespace)}` : ''}, property ${e.path}: ${e.message}`);
    if (e.type === 'start') return;
    const id = `${e.namespace}\u0000${e.kind}`;
    if (e.type === 'kind-start') tasks.set(id, progress.task(`${e.namespace || '(default)'} / ${e.kind}`));
    else tasks.get(id)?.update(e.entities);
    if (e.type === 'kind-done') tasks.get(id)?.done();
  };
  let result;
  try {
    result = await convert({ ...defined({ from: path, name: flags.name, root: flags.root, out: flags.out, concurrency: flags.concurrency, compress: flags.compress }), strict: flags.strict === true }, { onEvent });
  } finally {
    progress.stop();
  }
  const what = result.direction === 'export-to-dump' ? 'dump folder' : 'managed export';
  process.stderr.write(`dspipe: wrote the ${what} ${result.to}: ${formatCount(result.entities)} entities in ${result.kinds.length} kinds${result.lossy ? `, ${formatCount(result.lossy)} with warnings` : ''}\n`);
  return EXIT.OK;
}
