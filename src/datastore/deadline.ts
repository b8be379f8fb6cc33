/**
 * A deadline on every Datastore RPC, and word of what is being waited for.
 *
 * gax gives each call 60 s by default and our retry policy retries
 * DEADLINE_EXCEEDED, so an endpoint that accepts TCP and never answers made a
 * command fail only after ten silent minutes. The client `createClient`
 * returns is wrapped so that every RPC:
 * - carries a deadline (`rpcTimeoutMs`, default 60 s) unless the caller set one;
 * - after WAIT_NOTICE_MS without an answer, reports `onWaiting` (the CLI prints
 *   "waiting for HOST"), at most once per WAIT_NOTICE_MS per client;
 * - when it runs out of time against a host that has never answered this
 *   client, fails at once (not retried) with DSPIPE_RPC_FAILED naming the host;
 *   against a host that has answered before, DEADLINE_EXCEEDED stays transient
 *   (a slow moment) and its message names the host too.
 * Connection-refused detection (an emulator that is not running) is the
 * connection's own business, not this module's.
 */
import { DspipeError } from '../errors.js';

export const DEFAULT_RPC_TIMEOUT_MS = 60_000;
/** How long an RPC may go unanswered before we say what we are waiting for. */
export const WAIT_NOTICE_MS = 5_000;

const DEADLINE_EXCEEDED = 4;
const RPC_METHODS = new Set(['lookup', 'runQuery', 'runAggregationQuery', 'commit', 'beginTransaction', 'rollback', 'allocateIds', 'reserveIds']);

export interface WaitingNotice {
  /** host:port, or Datastore's endpoint for production. */
  host: string;
  /** The RPC, e.g. "runQuery". */
  method: string;
  waitedMs: number;
}

export interface DeadlineOptions {
  host: string;
  timeoutMs?: number;
  onWaiting?: (notice: WaitingNotice) => void;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The client with a deadline on each RPC (see the module comment). */
export function withDeadlines<C extends object>(client: C, options: DeadlineOptions): C {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  let answered = false;
  let lastNotice = -Infinity;
  const wrapped = new Map<string, unknown>();
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !RPC_METHODS.has(prop) || typeof value !== 'function') return value;
      let fn = wrapped.get(prop);
      if (fn === undefined) {
        const method = value as (this: C, request: unknown, callOptions?: Record<string, unknown>) => Promise<unknown>;
        fn = function (request: unknown, callOptions?: Record<string, unknown>): Promise<unknown> {
          const started = Date.now();
          const timer = options.onWaiting && setInterval(() => {
            const now = Date.now();
            if (now - lastNotice < WAIT_NOTICE_MS) return;
            lastNotice = now;
            options.onWaiting!({ host: options.host, method: prop, waitedMs: now - started });
          }, WAIT_NOTICE_MS);
          timer?.unref();
          const given = callOptions?.timeout;
          const call = method.call(target, request, { ...callOptions, timeout: typeof given === 'number' ? given : timeoutMs });
          return call.then(
            (response) => {
              if (timer) clearInterval(timer);
              answered = true;
              return response;
            },
            (err: unknown) => {
              if (timer) clearInterval(timer);
              const e = err as { code?: unknown; details?: unknown; message?: string };
              if (e?.code !== DEADLINE_EXCEEDED) {
                // A status from the server is an answer; UNAVAILABLE and CANCELLED may come from our side.
                if (typeof e?.code === 'number' && e.code !== 14 && e.code !== 1) answered = true;
                throw err;
              }
              const waited = seconds(Date.now() - started);
              if (!answered) {
                throw new DspipeError('DSPIPE_RPC_FAILED', `no answer from ${options.host}: ${prop} waited ${waited} (its deadline) and the host has not answered any request`, {
                  cause: err,
                  hint: 'check the host and port (--emulator-host / DATASTORE_EMULATOR_HOST) and that a Datastore is listening there; a slow one needs a longer --rpc-timeout',
                });
              }
              if (typeof e.details === 'string') e.details = `${e.details} (${prop} to ${options.host}, after ${waited})`;
              throw err;
            },
          );
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
