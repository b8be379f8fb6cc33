/**
 * `dspipe emulator`: runs the in-memory Datastore emulator in the foreground
 * until SIGINT/SIGTERM. Prints the `export DATASTORE_EMULATOR_HOST=...` line
 * on stdout (so `eval "$(dspipe emulator &)"`-style scripts can use it) and
 * everything else on stderr.
 */
import { DspipeError } from '../errors.js';
import { EXIT, parseCommandArgs } from './run.js';
import { normalizeEmulatorOptions } from '../options/emulator.js';

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'latency-ms': { type: 'string' },
  'fail-rate': { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const EMULATOR_HELP = `Usage: dspipe emulator [options]

Runs dspipe's in-memory Datastore (google.datastore.v1 gRPC) emulator until
Ctrl-C. Data lives in memory only and is gone when it stops.

Options:
  --port N          port to listen on (default 8081; 0 picks a free one)
  --host HOST       interface to bind (default localhost)
  --latency-ms N    delay every RPC by N ms, to model a network
  --fail-rate F     fail a share F (0..1) of RPCs with UNAVAILABLE, DEADLINE_EXCEEDED,
                    ABORTED, RESOURCE_EXHAUSTED or INTERNAL, to test retries
  --seed N          seed for --fail-rate, for reproducible failures
  -h, --help        this help

Then, in another shell:
  export DATASTORE_EMULATOR_HOST=localhost:8081
  dspipe dump --project my-project
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('emulator', argv, OPTIONS);
  if (values.help) {
    process.stdout.write(EMULATOR_HELP);
    return EXIT.OK;
  }
  const str = (flag: string) => values[flag] as string | undefined;
  const options = normalizeEmulatorOptions({
    port: str('port'),
    host: str('host'),
    latencyMs: str('latency-ms'),
    faults: { rate: str('fail-rate'), seed: str('seed') },
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
