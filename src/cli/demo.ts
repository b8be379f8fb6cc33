/**
 * `dspipe demo` (`npm start`): seed → dump → clear → restore → verify on the
 * embedded emulator, printing each step. Exit 0 when everything came back
 * equal, 1 otherwise.
 */
import type { Command } from 'commander';
import { EXIT } from './run.js';
import { jsonOutput, printJson } from './json.js';
import { act, opt, subcommand } from './program.js';
import { DEFAULT_ROOT } from '../options/validate.js';
import { DEFAULT_DEMO_USERS } from '../options/demo.js';

export const DEMO_SUMMARY = 'seed → dump → clear → restore → verify on the embedded emulator';

export interface DemoFlags {
  root?: string;
  name?: string;
  users?: string;
  emulatorHost?: string;
  project?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const O = 'Options:';
  subcommand(program, 'demo', DEMO_SUMMARY)
    .description(`the main job, end to end, on the embedded emulator

Starts dspipe's in-memory Datastore emulator, seeds a sample app dataset
(users → posts → comments, references between them and across namespaces,
blobs, two ~900 KiB unindexed values, every value type with meaning and
excludeFromIndexes, three namespaces), dumps it, clears the database, restores
the dump and looks every key up to check it equals the original.`)
    .usage('[options]        (npm start runs this)')
    .addOption(opt('--root <DIR>', `where the demo dump is written (default: ${DEFAULT_ROOT})`, O))
    .addOption(opt('-n, --name <NAME>', 'dump name (default: demo-<UTC time>)', O))
    .addOption(opt('--users <N>', `users per namespace in the sample data (default: ${DEFAULT_DEMO_USERS})`, O))
    .addOption(opt('--emulator-host <H:P>', "run it against an emulator already running there (Google's or dspipe's) instead of the embedded one; the demo seeds, clears and restores only its own kinds in project --project", O))
    .addOption(opt('--project <ID>', 'the project on that emulator (default: dspipe-demo)', O))
    .addOption(opt('--json', 'print the result as JSON on stdout', O))
    .addHelpText('after', `
Examples:
  npm start
  dspipe demo --root /tmp/dspipe-demo --users 500
  dspipe demo --emulator-host localhost:8081      # e.g. gcloud beta emulators datastore start
  dspipe cat _backup/demo-*/tenant-a/Post.ndjson.zst | head -2

Exit codes: 0 the restored data equals the original, 1 it does not (or a step failed), 2 bad usage.`)
    .action(act((flags: DemoFlags) => run(flags)));
}

export async function run(flags: DemoFlags): Promise<number> {
  const { demo } = await import('../commands/demo.js');
  const json = jsonOutput('demo', flags);
  const write = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  const result = await demo({
    ...(flags.root !== undefined && { root: flags.root }),
    ...(flags.name !== undefined && { name: flags.name }),
    ...(flags.users !== undefined && { users: flags.users }),
  }, {
    onEvent: (e) => write(e.line),
    ...(flags.emulatorHost !== undefined && {
      connection: { emulatorHost: flags.emulatorHost, ...(flags.project !== undefined && { projectId: flags.project }) },
    }),
  });
  if (json) printJson(result, { projectId: flags.project ?? 'dspipe-demo', databaseId: '' });
  else {
    write(result.ok
      ? `\nOK: ${result.restored} entities dumped, cleared and restored exactly in ${result.seconds.toFixed(1)} s.\nThe dump is in ${result.dir}; try: npx dspipe cat ${result.dir} | head -2`
      : '\nFAILED: the restored data differs from the original (see above).');
  }
  return result.ok ? EXIT.OK : EXIT.FAILED;
}
