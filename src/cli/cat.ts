/**
 * `dspipe cat FILE…`: dump files to NDJSON on stdout. A reader that goes away
 * early (`| head`) ends the command quietly with exit 0.
 */
import type { Command } from 'commander';
import { EXIT, isBrokenPipe } from './run.js';
import { act, subcommand } from './program.js';

export const CAT_SUMMARY = 'decode dump files or a managed export to NDJSON on stdout';

export function register(program: Command): void {
  subcommand(program, 'cat', CAT_SUMMARY)
    .description(`decode dump files to NDJSON on stdout

Each FILE is a kind file of a dump: .ndjson.zst is decompressed (zstd is
recognised by its magic bytes), plain .ndjson passes through. A DIR is a
whole dump folder: its kind files in manifest order, each checked against the
manifest's size and sha256. A managed export (gcloud datastore export: its
folder or its .overall_export_metadata) is decoded too, every CRC checked.
Output is one entity per line, Datastore v1 REST JSON.`)
    .usage('FILE|DIR…')
    .argument('[paths...]')
    .addHelpText('after', `
Examples:
  dspipe cat '_backup/20261122/(default)/User.ndjson.zst' | head -3
  dspipe cat '_backup/20261122/(default)/User.ndjson.zst' | jq -c '.properties.email'
  dspipe cat _backup/20261122 | wc -l
  dspipe cat ./2026-12-01T20:08:43_215 | jq -c 'select(.key.path[-1].kind == "User")'
  dspipe cat _backup/20261122/tenant-a/*.ndjson.zst | dspipe restore --in - --project other-app

Exit codes: 0 done (also when the reader closes the pipe early), 1 failed, 2 bad usage.`)
    .action(act((paths: string[]) => run(paths)));
}


export async function run(paths: string[]): Promise<number> {
  const { cat } = await import('../commands/cat.js');
  try {
    await cat({ paths, output: process.stdout });
    return EXIT.OK;
  } catch (err) {
    if (isBrokenPipe(err)) return EXIT.OK;
    throw err;
  }
}
