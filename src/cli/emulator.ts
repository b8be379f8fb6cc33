/**
 * `dspipe emulator`: runs the Datastore emulator in the foreground until
 * SIGINT/SIGTERM or `POST /shutdown`, with gcloud's flags
 * (`gcloud beta emulators datastore start`) beside its own. Prints the
 * environment a client needs as `export` lines on stdout (so
 * `eval "$(dspipe emulator env-init)"` and `$(...)`-style scripts work) and
 * everything else on stderr. `dspipe emulator env-init` prints the same lines
 * for an emulator started with that --data-dir.
 */
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DspipeError } from '../errors.js';
import { EXIT } from './run.js';
import { act, configure, opt, subcommand } from './program.js';
import { normalizeEmulatorOptions, type NormalizedEmulatorOptions } from '../options/emulator.js';
import { parseIndexYaml } from '../format/index-yaml.js';
import type { EmulatorIndexOptions } from '../emulator/index.js';

export const EMULATOR_SUMMARY = 'run the Datastore emulator (gRPC and REST, gcloud-compatible flags)';

export interface EmulatorFlags {
  port?: string;
  host?: string;
  hostPort?: string;
  project?: string;
  dataDir?: string;
  import?: string;
  storeOnDisk?: boolean;
  consistency?: string;
  latencyMs?: string;
  failRate?: string;
  seed?: string;
  maxWriteRps?: string;
  requireIndexes?: string;
  writeIndexes?: string;
  indexBuildMs?: string;
}

const AFTER = `
Then, in another shell:
  eval "$(dspipe emulator env-init --data-dir DIR)"    # or: export DATASTORE_EMULATOR_HOST=localhost:8081
  dspipe dump`;

/** The flags `start` and `env-init` share: where the emulator is and which project the environment names. */
function addWhereOptions(cmd: Command, group: string): Command {
  return cmd
    .addOption(opt('--host-port <H:P>', 'where to listen, as gcloud: localhost:8081, [::1]:8081, :8081', group))
    .addOption(opt('--port <N>', 'port to listen on (default 8081; 0 picks a free one)', group))
    .addOption(opt('--host <HOST>', 'interface to bind (default localhost)', group))
    .addOption(opt('--project <P>', 'project id the printed environment names (default dspipe-emulator; the emulator serves any project)', group))
    .addOption(opt('--data-dir <DIR>', 'folder that keeps the data across restarts (every acknowledged commit survives kill -9), and env.yaml for env-init', group));
}

export function register(program: Command): void {
  const O = 'Options:';
  const emulator = subcommand(program, 'emulator', EMULATOR_SUMMARY);
  emulator.description(`Runs dspipe's Datastore emulator until Ctrl-C or POST /shutdown: the
google.datastore.v1 API over gRPC and REST (JSON) on one port, plus GET / (Ok),
POST /reset (drops all data) and POST /shutdown, as Google's emulator has them.
Prints the environment clients need (DATASTORE_EMULATOR_HOST, ...) as export
lines on stdout. Takes gcloud's flags, so it replaces
"gcloud beta emulators datastore start" in scripts.`);
  // `dspipe emulator --port 0` is `dspipe emulator start --port 0`, as gcloud's `start`.
  const start = configure(emulator.command('start', { isDefault: true }).summary('run the emulator (the default)'));
  addWhereOptions(start, O)
    .addOption(opt('--store-on-disk', 'keep data in --data-dir across restarts (the default with --data-dir, as gcloud)', O))
    .addOption(opt('--no-store-on-disk', 'data in memory only, gone when it stops (the default without --data-dir)', O))
    .addOption(opt('--import <PATH>', 'load a dspipe dump folder, or a managed export (folder or .overall_export_metadata), at start: streamed, in bounded memory, into the project it came from', O))
    .addOption(opt('--consistency <F>', 'accepted for gcloud scripts and ignored: reads are always strongly consistent, as in Firestore in Datastore mode', O))
    .addOption(opt('--latency-ms <N>', 'delay every RPC by N ms, to model a network', O))
    .addOption(opt('--fail-rate <F>', 'fail a share F (0..1) of RPCs with UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED or INTERNAL, to test retries', O))
    .addOption(opt('--seed <N>', 'seed for --fail-rate, for reproducible failures', O))
    .addOption(opt('--max-write-rps <N>', 'answer RESOURCE_EXHAUSTED to commits above N write operations per second, as production pushes back on a cold key range', O))
    .addOption(opt('--require-indexes <FILE>', 'fail queries that need a composite index, as production does (FAILED_PRECONDITION "no matching index found. recommended index is: ..."), unless an index of FILE (an index.yaml, READY from the start) or one created through the Admin API serves them', O))
    .addOption(opt('--write-indexes <FILE>', 'record in FILE (an index.yaml) every composite index the queries that ran needed, to commit and deploy', O))
    .addOption(opt('--index-build-ms <N>', 'how long the Admin API takes to build or delete an index (default 300)', O))
    .addHelpText('after', AFTER)
    .action(act((flags: EmulatorFlags) => run(flags)));
  // `dspipe emulator --help` shows what `start` takes: that is what people run.
  emulator.addHelpText('after', () => `\n${start.helpInformation()}`);
  const envInit = subcommand(emulator, 'env-init', "print the environment of an emulator started with --data-dir (gcloud's env-init)");
  addWhereOptions(envInit, O).action(act((flags: EmulatorFlags) => envInitCommand(flags)));
}

/** The five variables gcloud's env-init prints, in its order. */
export function emulatorEnv(address: string, projectId: string): [string, string][] {
  return [
    ['DATASTORE_DATASET', projectId],
    ['DATASTORE_EMULATOR_HOST', address],
    ['DATASTORE_EMULATOR_HOST_PATH', `${address}/datastore`],
    ['DATASTORE_HOST', `http://${address}`],
    ['DATASTORE_PROJECT_ID', projectId],
  ];
}

const shellWord = (s: string) => (/^[\w@%+=:,./[\]-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const exportLines = (env: [string, string][]) => env.map(([k, v]) => `export ${k}=${shellWord(v)}\n`).join('');

export const ENV_FILE = 'env.yaml';

async function writeEnvFile(dir: string, env: [string, string][]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, ENV_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `---\n${env.map(([k, v]) => `${k}: ${v}\n`).join('')}`);
  await rename(temp, file);
}

async function readEnvFile(dir: string): Promise<[string, string][]> {
  const file = path.join(dir, ENV_FILE);
  let body: string;
  try {
    body = await readFile(file, 'utf8');
  } catch (err) {
    throw new DspipeError('DSPIPE_NOT_FOUND', `no ${ENV_FILE} in ${dir}`, {
      file,
      hint: `start the emulator with --data-dir ${dir} first (it writes ${ENV_FILE} there)`,
      cause: err,
    });
  }
  return body
    .split('\n')
    .map((line) => /^([A-Z_][A-Z0-9_]*):\s*(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!.trim()]);
}

function normalize(flags: EmulatorFlags): NormalizedEmulatorOptions {
  return normalizeEmulatorOptions({
    port: flags.port,
    host: flags.host,
    hostPort: flags.hostPort,
    projectId: flags.project,
    dataDir: flags.dataDir,
    importFrom: flags.import,
    ...(flags.storeOnDisk !== undefined && { storeOnDisk: flags.storeOnDisk }),
    consistency: flags.consistency,
    latencyMs: flags.latencyMs,
    faults: { rate: flags.failRate, seed: flags.seed },
    maxWriteRps: flags.maxWriteRps,
    requireIndexes: flags.requireIndexes,
    writeIndexes: flags.writeIndexes,
    indexBuildMs: flags.indexBuildMs,
  });
}

/** Reads --require-indexes' file (refused naming the line when bad) into startEmulator's `indexes`. */
async function emulatorIndexes(files: NormalizedEmulatorOptions['indexFiles']): Promise<EmulatorIndexOptions | undefined> {
  if (files === undefined) return undefined;
  const out: EmulatorIndexOptions = {};
  if (files.buildMs !== undefined) out.buildMs = files.buildMs;
  if (files.write !== undefined) out.writeFile = files.write;
  if (files.require !== undefined) {
    let content: string;
    try {
      content = await readFile(files.require, 'utf8');
    } catch (err) {
      throw new DspipeError('DSPIPE_NOT_FOUND', `cannot read the index file: ${(err as Error).message}`, { file: files.require, hint: 'name your index.yaml: --require-indexes index.yaml', cause: err });
    }
    out.require = parseIndexYaml(content, files.require);
  }
  return out;
}

export async function envInitCommand(flags: EmulatorFlags): Promise<number> {
  const opts = normalize(flags);
  const env = flags.dataDir !== undefined ? await readEnvFile(flags.dataDir) : emulatorEnv(`${opts.host}:${opts.port}`, opts.projectId);
  process.stdout.write(exportLines(env));
  return EXIT.OK;
}

export async function run(flags: EmulatorFlags): Promise<number> {
  return serve(normalize(flags));
}

async function serve(options: NormalizedEmulatorOptions): Promise<number> {
  const { port, host, latencyMs } = options;
  const rate = options.faults?.rate;
  const seed = options.faults?.seed;
  const indexes = await emulatorIndexes(options.indexFiles);
  const { startEmulator, PortInUseError } = await import('../emulator/index.js');
  let emulator;
  try {
    emulator = await startEmulator({ ...options, ...(indexes && { indexes }) });
  } catch (err) {
    if (err instanceof PortInUseError) {
      // One line, no stack: what happened and what to do.
      throw new DspipeError('DSPIPE_IO', `${err.message}: is another emulator running? pick another --port (or --port 0 for a free one)`);
    }
    if (err instanceof DspipeError) throw err; // a data dir it cannot start on says which file and why
    throw new DspipeError('DSPIPE_IO', `cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err });
  }
  const env = emulatorEnv(emulator.address, options.projectId);
  if (emulator.dataDir !== undefined) process.stderr.write(`dspipe emulator: data kept in ${emulator.dataDir}\n`);
  if (emulator.imported !== undefined) {
    process.stderr.write(`dspipe emulator: imported ${emulator.imported.entities} entities from the ${emulator.imported.format} ${options.importFrom}\n`);
  }
  if (options.envDir !== undefined) await writeEnvFile(options.envDir, env);
  process.stdout.write(exportLines(env));
  const extras = [
    latencyMs ? `${latencyMs} ms latency per RPC` : '',
    options.maxWriteRps ? `at most ${options.maxWriteRps} writes/s` : '',
    rate ? `failing ${rate * 100}% of RPCs${seed !== undefined ? ` (seed ${seed})` : ''}` : '',
    indexes?.require ? `requiring composite indexes: ${indexes.require.length} from ${options.indexFiles!.require}` : '',
    indexes?.writeFile ? `writing the indexes queries need to ${indexes.writeFile}` : '',
  ].filter(Boolean);
  process.stderr.write(
    `dspipe emulator listening on ${emulator.address} (gRPC and REST, http://${emulator.address}/)${extras.length ? ` (${extras.join(', ')})` : ''}; Ctrl-C to stop\n`,
  );
  const why = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    void emulator.stopped.then(() => resolve('POST /shutdown'));
  });
  await emulator.stop();
  process.stderr.write(`dspipe emulator stopped (${why})\n`);
  return EXIT.OK;
}
