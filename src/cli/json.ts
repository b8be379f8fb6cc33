/**
 * `--json`: one shape for every command, one line of JSON:
 *
 *   {"command":"dump","project":"my-app","database":"(default)", ...the command's results}
 *   {"command":"dump","project":"my-app","database":"(default)","error":{"code":"DSPIPE_…","message":"…","hint":"…"}}
 *
 * `project`/`database` name what the command talked to (null where there is
 * none: a managed export read offline); `database` is "(default)" for the
 * default database, as Firestore names it. Every `seconds` (and `…Seconds`)
 * is rounded to milliseconds. The exit code is the same as without --json;
 * on failure the usual `dspipe:` message still goes to stderr. A command line
 * commander refuses (an unknown flag or command, a missing value) with
 * `--json` on it is reported the same way, exit code 2.
 */
import { isDspipeError } from '../errors.js';
import { resolveConnection } from '../datastore/connection.js';
import { connectionFrom, type ConnectionFlags } from './run.js';
import { commandPath, defined, flagsOnLine, type UsageError } from './program.js';

export interface JsonTarget {
  projectId: string;
  /** '' or absent: the (default) database. */
  databaseId?: string;
}

interface Active {
  command: string;
  flags: ConnectionFlags;
  stream: NodeJS.WritableStream;
}

let active: Active | undefined;

/** Called by a command when it starts: with `--json`, its result (or error) is printed as one JSON line on `stream`. */
export function jsonOutput(command: string, flags: ConnectionFlags & { json?: boolean | undefined }, stream: NodeJS.WritableStream = process.stdout): boolean {
  if (flags.json !== true) return false;
  active = { command, flags, stream };
  return true;
}

/** The command's result, in the shared shape. `target` overrides the one the flags name (a result that knows better). */
export function printJson(result: object, target?: JsonTarget | null): void {
  if (active === undefined) throw new Error('printJson without jsonOutput');
  const { target: own, ...rest } = result as { target?: JsonTarget | null };
  write(active, envelope(active, target !== undefined ? target : own !== undefined ? own : flagTarget(active.flags), rest));
}

/** On failure with --json: the error in the shared shape; false when --json is not on. */
export function printJsonError(err: unknown): boolean {
  if (active === undefined) return false;
  write(active, envelope(active, flagTarget(active.flags), { error: jsonError(err) }));
  active = undefined;
  return true;
}

/**
 * A usage error on a command line that asks for `--json`: the error object,
 * on the stream that command's JSON goes to (stderr for `dump --out -`);
 * `command` is null when the command itself is unknown or missing. False
 * when `--json` is not on the line.
 */
export function printUsageErrorJson(err: UsageError, argv: readonly string[]): boolean {
  const flags = flagsOnLine(argv, err.command);
  if (flags.get('json') !== true) return false;
  const path = commandPath(err.command).split(' ').slice(1).join(' ');
  const connects = err.command.options.some((o) => o.long === '--project');
  const value = (name: string) => {
    const v = flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const target = connects ? flagTarget(defined({ project: value('project'), database: value('database'), emulatorHost: value('emulator-host') })) : null;
  const stream = path === 'dump' && value('out') === '-' ? process.stderr : process.stdout;
  write({ stream }, envelope({ command: path === '' ? null : path }, target, { error: jsonError(err) }));
  return true;
}

export function jsonError(err: unknown): { code: string; message: string; hint: string | null } {
  if (isDspipeError(err)) {
    const described = err.describe();
    const message = err.hint === undefined ? described : described.slice(0, described.lastIndexOf('\n  hint: '));
    return { code: err.code, message, hint: err.hint ?? null };
  }
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.code === 'number') return { code: 'DSPIPE_RPC_FAILED', message: String(e.details ?? e.message), hint: null };
  return { code: 'DSPIPE_UNEXPECTED', message: String(e?.message ?? err), hint: 'DSPIPE_DEBUG=1 prints where it happened; please report it if it is not your setup' };
}

function envelope(a: { command: string | null }, target: JsonTarget | null, body: object): object {
  return {
    command: a.command,
    project: target?.projectId ?? null,
    database: target === null ? null : target.databaseId ? target.databaseId : '(default)',
    ...(rounded(body) as object),
  };
}

function flagTarget(flags: ConnectionFlags): JsonTarget | null {
  try {
    const c = resolveConnection(connectionFrom(flags));
    return { projectId: c.projectId, databaseId: c.databaseId };
  } catch {
    return null;
  }
}

function write(a: { stream: NodeJS.WritableStream }, value: object): void {
  a.stream.write(`${JSON.stringify(value)}\n`);
}

/** `seconds` and `…Seconds` to milliseconds, everywhere in the value. */
function rounded(value: unknown, key = ''): unknown {
  if (typeof value === 'number') return key === 'seconds' || key.endsWith('Seconds') ? Math.round(value * 1000) / 1000 : value;
  if (Array.isArray(value)) return value.map((v) => rounded(v));
  // only plain objects: a Date, a Buffer or a class instance serialises as it would anyway
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v, k)]));
}
