/**
 * The dspipe program: every command declared with commander. Command modules
 * load their command (and gRPC) only when they run, so `dspipe --help` and
 * `dspipe cat` start without it.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { configure } from './program.js';
import * as dump from './dump.js';
import * as restore from './restore.js';
import * as clear from './clear.js';
import * as cat from './cat.js';
import * as convert from './convert.js';
import * as schema from './schema.js';
import * as migrate from './migrate.js';
import * as indexes from './indexes.js';
import * as emulator from './emulator.js';
import * as demo from './demo.js';

export function createProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = configure(new Command('dspipe'))
    .description('dspipe — move Google Cloud Datastore data through streaming pipelines')
    .usage('<command> [options]      dspipe <command> --help for its options')
    .version(pkg.version, '-v, --version', 'the version')
    .addHelpText('after', `
Connection (every command that talks to Datastore):
  --project ID           project id (default: GOOGLE_CLOUD_PROJECT / DATASTORE_PROJECT_ID)
  --database ID          named database (default: the (default) database)
  --emulator-host H:P    talk to an emulator (default: DATASTORE_EMULATOR_HOST)

Exit codes: 0 done, 1 failed, 2 bad usage or input, 130 interrupted.`);
  for (const command of [dump, restore, clear, cat, convert, schema, migrate, indexes, emulator, demo]) command.register(program);
  return program;
}

