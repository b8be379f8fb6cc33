#!/usr/bin/env node
/**
 * dspipe's entry point: picks the command and loads only its module, so
 * `dspipe --help` and `dspipe cat` start without pulling in gRPC.
 */
import { runCommand, EXIT } from './run.js';

interface CommandEntry {
  module: string;
  summary: string;
}

const COMMANDS: Record<string, CommandEntry> = {
  dump: { module: './dump.js', summary: 'dump every kind of every namespace to _backup/NAME (or stdout)' },
  restore: { module: './restore.js', summary: 'write a dump back, exactly, into any project/database/namespace' },
  clear: { module: './clear.js', summary: 'delete every entity (of chosen kinds/namespaces)' },
  cat: { module: './cat.js', summary: 'decode dump files to NDJSON on stdout' },
  schema: { module: './schema.js', summary: 'report the property types actually stored' },
  migrate: { module: './migrate.js', summary: 'rewrite entities in place when the data model changes' },
  emulator: { module: './emulator.js', summary: 'run the in-memory Datastore emulator' },
  demo: { module: './demo.js', summary: 'seed → dump → clear → restore → verify on the embedded emulator' },
};

export const USAGE = `dspipe — move Google Cloud Datastore data through streaming pipelines

Usage: dspipe <command> [options]      dspipe <command> --help for its options

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Connection (every command that talks to Datastore):
  --project ID           project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)
  --database ID          named database (default: the (default) database)
  --emulator-host H:P    talk to an emulator (default: DATASTORE_EMULATOR_HOST)

Exit codes: 0 done, 1 failed, 2 bad usage or input, 130 interrupted.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.OK;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(`dspipe: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const mod = (await import(entry.module)) as { run: (argv: string[]) => Promise<number> };
  return runCommand(() => mod.run(rest));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`dspipe: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
