/**
 * `dspipe cat FILE…`: dump files to NDJSON on stdout. A reader that goes away
 * early (`| head`) ends the command quietly with exit 0.
 */
import { EXIT, parseCommandArgs } from './run.js';
import { cat } from '../commands/cat.js';

export const CAT_HELP = `dspipe cat — decode dump files to NDJSON on stdout

Usage: dspipe cat FILE|DIR…

Each FILE is a kind file of a dump: .ndjson.zst is decompressed (zstd is
recognised by its magic bytes), plain .ndjson passes through. A DIR is a
whole dump folder: its kind files in manifest order, each checked against the
manifest's size and sha256. Output is one entity per line, Datastore v1 REST JSON.

Options:
  -h, --help     this help

Examples:
  dspipe cat '_backup/20261122/(default)/User.ndjson.zst' | head -3
  dspipe cat '_backup/20261122/(default)/User.ndjson.zst' | jq -c '.properties.email'
  dspipe cat _backup/20261122 | wc -l
  dspipe cat _backup/20261122/tenant-a/*.ndjson.zst | dspipe restore --in - --project other-app

Exit codes: 0 done (also when the reader closes the pipe early), 1 failed, 2 bad usage.
`;

function isBrokenPipe(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  }
  return false;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('cat', argv, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    process.stdout.write(CAT_HELP);
    return EXIT.OK;
  }
  // after the reader is gone, later writes must not crash the process
  process.stdout.on('error', () => {});
  try {
    await cat({ paths: positionals, output: process.stdout });
    return EXIT.OK;
  } catch (err) {
    if (isBrokenPipe(err)) return EXIT.OK;
    throw err;
  }
}
