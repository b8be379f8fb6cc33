/**
 * What every CLI command shares: exit codes, turning errors into one readable
 * message (never a bare stack for errors we understand), and argument parsing
 * with the connection flags.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DspipeError, isDspipeError } from '../errors.js';
import type { ConnectionOptions } from '../datastore/connection.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130 } as const;

export const CONNECTION_OPTIONS = {
  project: { type: 'string' },
  database: { type: 'string' },
  'emulator-host': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export function connectionFrom(values: { project?: string; database?: string; 'emulator-host'?: string }): ConnectionOptions {
  const options: ConnectionOptions = {};
  if (values.project !== undefined) options.projectId = values.project;
  if (values.database !== undefined) options.databaseId = values.database;
  if (values['emulator-host'] !== undefined) options.emulatorHost = values['emulator-host'];
  return options;
}

/**
 * parseArgs that reports unknown or malformed flags as a usage error naming
 * the command, instead of Node's TypeError.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', (err as Error).message, {
      hint: `see dspipe ${command} --help`,
      cause: err,
    });
  }
}

/** gRPC status names, for messages about failed RPCs. */
const GRPC_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

export function describeError(err: unknown): string {
  if (isDspipeError(err)) {
    let text = err.describe();
    const cause = err.cause as { code?: unknown; details?: unknown; message?: unknown } | undefined;
    if (cause && typeof cause.code === 'number' && !err.message.includes(String(cause.details ?? cause.message))) {
      text += `\n  cause: ${GRPC_NAMES[cause.code] ?? cause.code}: ${String(cause.details ?? cause.message)}`;
    }
    return text;
  }
  const e = err as { code?: unknown; details?: unknown; message?: unknown; stack?: unknown };
  if (e && typeof e.code === 'number') {
    const hint =
      e.code === 14 ? '\n  hint: is the emulator running and --emulator-host / DATASTORE_EMULATOR_HOST right?' :
      e.code === 16 || e.code === 7 ? '\n  hint: check your credentials (gcloud auth application-default login) and --project' : '';
    return `Datastore ${GRPC_NAMES[e.code] ?? e.code}: ${String(e.details ?? e.message)}${hint}`;
  }
  return String(e?.stack ?? err);
}

export function exitCodeFor(err: unknown): number {
  if (isDspipeError(err)) {
    return err.code === 'DSPIPE_INVALID_OPTION' || err.code === 'DSPIPE_CONFIRMATION_REQUIRED' ? EXIT.USAGE : EXIT.FAILED;
  }
  return EXIT.FAILED;
}

export async function runCommand(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    process.stderr.write(`dspipe: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}
