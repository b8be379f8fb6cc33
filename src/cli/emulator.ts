/**
 * `dspipe emulator`: runs the in-memory Datastore emulator in the foreground
 * until SIGINT/SIGTERM. Prints the `export DATASTORE_EMULATOR_HOST=...` line
 * on stdout (so `eval "$(dspipe emulator &)"`-style scripts can use it) and
 * everything else on stderr.
 */
import type { Command } from 'commander';
import { DspipeError } from '../errors.js';
import { EXIT } from './run.js';
import { act, opt, subcommand } from './program.js';
import { normalizeEmulatorOptions } from '../options/emulator.js';

export const EMULATOR_SUMMARY = 'run the in-memory Datastore emulator';

export interface EmulatorFlags {
  port?: string;
  host?: string;
  latencyMs?: string;
  failRate?: string;
  seed?: string;
}

export function register(program: Command): void {
  const O = 'Options:';
  subcommand(program, 'emulator', EMULATOR_SUMMARY)
    .description(`Runs dspipe's in-memory Datastore (google.datastore.v1 gRPC) emulator until
Ctrl-C. Data lives in memory only and is gone when it stops.`)
    .addOption(opt('--port <N>', 'port to listen on (default 8081; 0 picks a free one)', O))
    .addOption(opt('--host <HOST>', 'interface to bind (default localhost)', O))
    .addOption(opt('--latency-ms <N>', 'delay every RPC by N ms, to model a network', O))
    .addOption(opt('--fail-rate <F>', 'fail a share F (0..1) of RPCs with UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED or INTERNAL, to test retries', O))
    .addOption(opt('--seed <N>', 'seed for --fail-rate, for reproducible failures', O))
    .addHelpText('after', `
Then, in another shell:
  export DATASTORE_EMULATOR_HOST=localhost:8081
  dspipe dump --project my-project`)
    .action(act((flags: EmulatorFlags) => run(flags)));
}

export async function run(flags: EmulatorFlags): Promise<number> {
  const options = normalizeEmulatorOptions({
    port: flags.port,
    host: flags.host,
    latencyMs: flags.latencyMs,
    faults: { rate: flags.failRate, seed: flags.seed },
  });
  const { port, host, latencyMs } = options;
  const rate = options.faults?.rate;
  const seed = options.faults?.seed;

  const { startEmulator } = await import('../emulator/index.js');
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `cannot listen on ${host}:${port}: ${(err as Error).message}`, {
      hint: 'is another emulator running? pick another --port (or --port 0 for a free one)',
      cause: err,
    });
  }
  process.stdout.write(`export DATASTORE_EMULATOR_HOST=${emulator.address}\n`);
  const extras = [
    latencyMs ? `${latencyMs} ms latency per RPC` : '',
    rate ? `failing ${rate * 100}% of RPCs${seed !== undefined ? ` (seed ${seed})` : ''}` : '',
  ].filter(Boolean);
  process.stderr.write(
    `dspipe emulator listening on ${emulator.address}${extras.length ? ` (${extras.join(', ')})` : ''}; Ctrl-C to stop\n`,
  );
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await emulator.stop();
  process.stderr.write(`dspipe emulator stopped (${signal})\n`);
  return EXIT.OK;
}
