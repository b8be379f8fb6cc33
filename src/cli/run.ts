/**
 * What every CLI command shares: exit codes, turning errors into one readable
 * message (never a bare stack for errors we understand), and the connection
 * flags as connection options.
 */
import { DspipeError, isDspipeError } from '../errors.js';
import { invalid, opt } from '../options/validate.js';
import { resolveConnection, type ConnectionOptions } from '../datastore/connection.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130 } as const;

export function connectionFrom(values: ConnectionFlags): ConnectionOptions {
  const options: ConnectionOptions = {
    // What a request is waiting for, on stderr, when it has gone unanswered for a few seconds.
    onWaiting: (w) => process.stderr.write(`dspipe: waiting for ${w.host} (${w.method} unanswered for ${Math.round(w.waitedMs / 1000)} s)\n`),
  };
  if (values.project !== undefined) options.projectId = values.project;
  if (values.database !== undefined) options.databaseId = values.database;
  if (values.emulatorHost !== undefined) options.emulatorHost = values.emulatorHost;
  if (values.rpcTimeout !== undefined) options.rpcTimeoutMs = rpcTimeoutMs(values.rpcTimeout);
  return options;
}

/** `project my-app` or `project my-app database staging`, as every summary names where it worked. */
export function targetText(target: { projectId: string; databaseId: string }): string {
  return `project ${target.projectId}${target.databaseId ? ` database ${target.databaseId}` : ''}`;
}

/** A write to a reader that went away (`dspipe … | head`), however a stream wrapped it. */
export function isBrokenPipe(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  }
  return false;
}

/**
 * Installed once, for every command: when the reader of stdout goes away
 * (`dspipe schema | head -2`), the command ends there, quietly, with exit 0,
 * as `cat` and `yes` do; any other stdout failure is one message and exit 1.
 */
export function endOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err) => {
    if (isBrokenPipe(err)) process.exit(EXIT.OK);
    process.stderr.write(`dspipe: cannot write to stdout: ${err.message}\n`);
    process.exit(EXIT.FAILED);
  });
}

export interface ConnectionFlags {
  project?: string;
  database?: string;
  emulatorHost?: string;
  rpcTimeout?: string;
}

function rpcTimeoutMs(text: string): number {
  const n = Number(text);
  if (!(n > 0 && n <= 3600)) invalid(opt('--rpc-timeout'), text, 'is not a number of seconds above 0 and at most 3600', 'e.g. --rpc-timeout 20');
  return Math.round(n * 1000);
}

/**
 * restore and migrate write to the database they are pointed at. Against a
 * real project (no emulator) that project must be named on the command line
 * (`--project ID`): one picked up from GOOGLE_CLOUD_PROJECT or
 * DATASTORE_PROJECT_ID alone is refused before anything is read or written,
 * so a shell left pointing at production cannot be written to by accident.
 * Emulators need nothing. Dry runs write nothing and need nothing.
 */
export function confirmWrite(command: string, flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): void {
  const target = resolveConnection(connectionFrom(flags), env);
  if (target.emulatorHost !== undefined || flags.project !== undefined) return;
  const where = targetText(target);
  throw new DspipeError('DSPIPE_CONFIRMATION_REQUIRED', `${command} writes to ${where}, which comes from the environment and is not an emulator; not confirmed`, {
    hint: `name the project on the command line to confirm: add --project ${target.projectId} (or --dry-run to write nothing)`,
  });
}

/** gRPC status names, for messages about failed RPCs. */
const GRPC_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

/**
 * Whether an RPC's text adds nothing to the error: the message holds it, or
 * it is Google's "WHAT: KEY" about the key the error names already, and the
 * message says WHAT ("entity already exists: Order(501)", said once).
 */
function saidAlready(err: DspipeError, details: string): boolean {
  if (err.message.includes(details)) return true;
  const what = /^([^:\n]+): /.exec(details)?.[1];
  return err.key !== undefined && what !== undefined && err.message.includes(what);
}

export function describeError(err: unknown): string {
  if (isDspipeError(err)) {
    let text = err.describe();
    const cause = err.cause as { code?: unknown; details?: unknown; message?: unknown } | undefined;
    if (cause && typeof cause.code === 'number' && !saidAlready(err, String(cause.details ?? cause.message))) {
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
  // Not an error dspipe knows: the message, and the stack only on request (it helps a bug report, not a user).
  if (process.env.DSPIPE_DEBUG) return String(e?.stack ?? err);
  return `unexpected error: ${String(e?.message ?? err)}\n  hint: DSPIPE_DEBUG=1 prints where it happened; please report it if it is not your setup`;
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
