/**
 * `dspipe demo` (`npm start`): seed → dump → clear → restore → verify on the
 * embedded emulator, printing each step. Exit 0 when everything came back
 * equal, 1 otherwise.
 */
import { EXIT, parseCommandArgs } from './run.js';
import { demo } from '../commands/demo.js';
import { DspipeError } from '../errors.js';
import { DEFAULT_ROOT } from '../options/validate.js';

export const DEMO_HELP = `dspipe demo — the main job, end to end, on the embedded emulator

Usage: dspipe demo [options]        (npm start runs this)

Starts dspipe's in-memory Datastore emulator, seeds a sample app dataset
(users → posts → comments, references between them and across namespaces,
blobs, two ~900 KB unindexed values, every value type with meaning and
excludeFromIndexes, three namespaces), dumps it, clears the database, restores
the dump and looks every key up to check it equals the original.

Options:
      --root DIR     where the demo dump is written (default: ${DEFAULT_ROOT})
  -n, --name NAME    dump name (default: demo-<UTC time>)
      --users N      users per namespace in the sample data (default: 50)
      --emulator-host H:P
                     run it against an emulator already running there (Google's
                     or dspipe's) instead of the embedded one; the demo seeds,
                     clears and restores only its own kinds in project --project
      --project ID   the project on that emulator (default: dspipe-demo)
      --json         print the result as JSON on stdout
  -h, --help         this help

Examples:
  npm start
  dspipe demo --root /tmp/dspipe-demo --users 500
  dspipe demo --emulator-host localhost:8081      # e.g. gcloud beta emulators datastore start
  dspipe cat _backup/demo-*/tenant-a/Post.ndjson.zst | head -2

Exit codes: 0 the restored data equals the original, 1 it does not (or a step failed), 2 bad usage.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('demo', argv, {
    root: { type: 'string' },
    name: { type: 'string', short: 'n' },
    users: { type: 'string' },
    'emulator-host': { type: 'string' },
    project: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, true);
  if (values.help) {
    process.stdout.write(DEMO_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `unexpected argument ${JSON.stringify(positionals[0])}`, { hint: 'see dspipe demo --help' });
  }
  const json = values.json === true;
  const write = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  const result = await demo({
    ...(values.root !== undefined && { root: values.root as string }),
    ...(values.name !== undefined && { name: values.name as string }),
    ...(values.users !== undefined && { users: values.users as string }),
  }, {
    onEvent: (e) => write(e.line),
    ...(values['emulator-host'] !== undefined && {
      connection: { emulatorHost: values['emulator-host'] as string, ...(values.project !== undefined && { projectId: values.project as string }) },
    }),
  });
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    write(result.ok
      ? `\nOK: ${result.restored} entities dumped, cleared and restored exactly in ${result.seconds.toFixed(1)} s.\nThe dump is in ${result.dir}; try: dspipe cat ${result.dir} | head -2`
      : '\nFAILED: the restored data differs from the original (see above).');
  }
  return result.ok ? EXIT.OK : EXIT.FAILED;
}
