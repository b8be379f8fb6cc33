/**
 * The second argument of every command: where to talk to, how to stop, how
 * to retry, and where progress goes — the same for dump, restore, clear,
 * schema, migrate, cat and demo, so a caller learns it once:
 *
 *   await dump({ name: 'nightly' }, { connection: { projectId: 'my-app' }, signal, onEvent });
 *
 * `withCommandContext` resolves it for the command's body and cleans up after.
 */
import { createClient, resolveConnection, type Connection, type ConnectionOptions, type DatastoreClient } from '../datastore/connection.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { retryPolicy } from '../options/validate.js';

export interface CommandContext<Event = never> {
  /** Project, named database and emulator; what is left out comes from the environment (see resolveConnection). */
  connection?: ConnectionOptions;
  /** Use this client; it is not closed. By default the command creates one and closes it. */
  client?: DatastoreClient;
  /** Stops the command: it rejects with the signal's reason (what was done is kept: dump --resume and migrate up go on from there). */
  signal?: AbortSignal;
  /** How transient RPC failures are retried (default DEFAULT_RETRY). */
  retry?: Partial<RetryPolicy>;
  /** Progress, one event at a time: `start`, `kind-start`, `kind-progress`, `kind-done`, `retry`, … */
  onEvent?: (event: Event) => void;
}

export interface ResolvedContext<Event> {
  /** Resolved on first use, so a command that reads only files needs no project. */
  readonly connection: Connection;
  /** The given client, or one created on first use and closed when the command ends. */
  readonly client: DatastoreClient;
  /** The caller's signal, also aborted once the command ends (stray timers and reads stop with it). */
  readonly signal: AbortSignal;
  readonly retry: RetryPolicy;
  /** Reports one event; a throwing listener is the caller's bug and fails the command. */
  emit(event: Event): void;
}

/** Runs `body` with the context resolved; closes only a client it created itself. */
export async function withCommandContext<Event, T>(context: CommandContext<Event> | undefined, body: (ctx: ResolvedContext<Event>) => Promise<T>): Promise<T> {
  const given = context ?? {};
  const retry = retryPolicy(given.retry);
  const ended = new AbortController();
  const signal = given.signal ? AbortSignal.any([given.signal, ended.signal]) : ended.signal;
  let connection: Connection | undefined;
  let created: DatastoreClient | undefined;
  const onEvent = given.onEvent;
  const ctx: ResolvedContext<Event> = {
    get connection() {
      return (connection ??= resolveConnection(given.connection));
    },
    get client() {
      return given.client ?? (created ??= createClient(this.connection));
    },
    signal,
    retry,
    emit: onEvent ? (event) => onEvent(event) : () => {},
  };
  try {
    return await body(ctx);
  } catch (err) {
    // Stopped by the caller: reject with their reason, not the AbortError a stream or a wait turned it into.
    if (given.signal?.aborted && (err as Error | undefined)?.name === 'AbortError') throw given.signal.reason;
    throw err;
  } finally {
    ended.abort(new Error('the command has ended'));
    if (created) await created.close();
  }
}

/**
 * The three events of one kind's work, the same in every command: each names
 * the namespace and kind, plus what the command tells at the start, as it
 * goes, and at the end.
 */
export type KindEvents<Progress, Start = unknown, Done = Progress> =
  | ({ type: 'kind-start'; namespace: string; kind: string } & Start)
  | ({ type: 'kind-progress'; namespace: string; kind: string } & Progress)
  | ({ type: 'kind-done'; namespace: string; kind: string } & Done);

/**
 * Something the user should know that does not stop the command: what this
 * backend cannot do and what is done instead (no consistent snapshot, a
 * namespace list it refuses). Sent once per cause; the CLI prints it.
 */
export interface WarningEvent {
  type: 'warning';
  message: string;
}

/** The `retry` event of every command, sent before each wait. */
export interface RetryEvent {
  type: 'retry';
  /** The kind being read, when the retried call belongs to one. */
  namespace?: string | undefined;
  kind?: string | undefined;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: string;
}

/** An RPC failure in one line: its gRPC code and details. */
export function describeRpcError(err: unknown): string {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  return `${String(e?.code ?? '')} ${String(e?.details ?? e?.message ?? err)}`.trim();
}

export function retryEvent(err: unknown, attempt: number, delayMs: number, ref?: { namespace: string; kind: string }): RetryEvent {
  return { type: 'retry', namespace: ref?.namespace, kind: ref?.kind, attempt, delayMs, error: describeRpcError(err) };
}
