/**
 * Where dspipe talks to: an emulator (ours or Google's) or a production
 * project, and which named database. Resolved once per command from flags
 * and the environment, then used to build clients.
 */
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Datastore, v1 } from '@google-cloud/datastore';

export type DatastoreClient = InstanceType<typeof v1.DatastoreClient>;
export type DatastoreAdminClient = InstanceType<typeof v1.DatastoreAdminClient>;
import { DspipeError } from '../errors.js';
import { withDeadlines, type WaitingNotice } from './deadline.js';

export interface ConnectionOptions {
  /** Project id; falls back to DATASTORE_PROJECT_ID, GOOGLE_CLOUD_PROJECT, then the credentials' project. */
  projectId?: string;
  /** Named database; '' (the default) is the `(default)` database. */
  databaseId?: string;
  /** host:port of an emulator; falls back to DATASTORE_EMULATOR_HOST. */
  emulatorHost?: string;
  /** Deadline of each RPC in ms (default 60,000); one that runs out against a host that never answered fails at once. */
  rpcTimeoutMs?: number;
  /** Told when an RPC has gone unanswered for a few seconds (the CLI prints "waiting for HOST"). */
  onWaiting?: (notice: WaitingNotice) => void;
}

export interface Connection {
  projectId: string;
  databaseId: string;
  /** Set when talking to an emulator; undefined for production. */
  emulatorHost?: string;
  rpcTimeoutMs?: number;
  onWaiting?: (notice: WaitingNotice) => void;
}

/** The project id an emulator is addressed with when the user names none. */
export const DEFAULT_EMULATOR_PROJECT = 'dspipe-local';

export function resolveConnection(options: ConnectionOptions = {}, env: NodeJS.ProcessEnv = process.env): Connection {
  const emulatorHost = options.emulatorHost ?? (env.DATASTORE_EMULATOR_HOST || undefined);
  if (emulatorHost !== undefined) parseHostPort(emulatorHost);
  let projectId = options.projectId ?? (env.DATASTORE_PROJECT_ID || env.GOOGLE_CLOUD_PROJECT || undefined);
  if (projectId === undefined) {
    if (emulatorHost === undefined) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', 'no project id given', {
        hint: 'pass --project PROJECT_ID or set GOOGLE_CLOUD_PROJECT (or --emulator-host HOST:PORT for a local emulator)',
      });
    }
    projectId = DEFAULT_EMULATOR_PROJECT;
  }
  const connection: Connection = { projectId, databaseId: options.databaseId ?? '' };
  if (emulatorHost !== undefined) connection.emulatorHost = emulatorHost;
  if (options.rpcTimeoutMs !== undefined) connection.rpcTimeoutMs = options.rpcTimeoutMs;
  if (options.onWaiting !== undefined) connection.onWaiting = options.onWaiting;
  return connection;
}

export function parseHostPort(hostPort: string): { host: string; port: number } {
  const m = /^(?:https?:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(hostPort.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `emulator host ${JSON.stringify(hostPort)} is not HOST:PORT`, {
      hint: 'write it as localhost:8081',
    });
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * The HTTP/2 receive window dspipe's channel advertises, per stream and for
 * the connection (grpc-js's `grpc-node.flow_control_window`; google-gax passes
 * `grpc-node.*` options through). Node's default is 64 KiB for the whole
 * connection, and grpc-js does not grow it (gRPC's C core does, by BDP
 * probing), so every RunQuery page of ~1 MB arrived in 64 KiB steps, each
 * waiting for a WINDOW_UPDATE: at a production round trip of 20 ms that caps
 * all of a dump's streams together at ~3 MB/s, and even on localhost the
 * updates cost a quarter of the client's CPU per entity (bench/README.md,
 * 2026-12-03). The window bounds only bytes in flight, which grpc-js reads as
 * they come: a response is buffered whole in any case.
 */
export const FLOW_CONTROL_WINDOW = 16 << 20;

function clientOptions(connection: Connection): Record<string, unknown> {
  const window = { 'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW };
  if (connection.emulatorHost === undefined) return { projectId: connection.projectId, ...window };
  const { host, port } = parseHostPort(connection.emulatorHost);
  return {
    ...window,
    projectId: connection.projectId,
    servicePath: host,
    apiEndpoint: `${host}:${port}`,
    port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  };
}

/** The RPCs of google.datastore.v1.Datastore, as the GAPIC client names them. */
const RPCS = ['lookup', 'runQuery', 'runAggregationQuery', 'beginTransaction', 'commit', 'rollback', 'allocateIds', 'reserveIds'] as const;

/** How long a TCP connect to an emulator may take before it counts as unreachable. */
export const EMULATOR_CONNECT_TIMEOUT_MS = 2_000;

const START_EMULATOR = 'start one with `npx dspipe emulator` (or `gcloud beta emulators datastore start`), or fix --emulator-host / DATASTORE_EMULATOR_HOST';

/** Resolves once a TCP connection to the emulator opens; rejects naming the host otherwise. */
export function probeEmulator(emulatorHost: string, timeoutMs = EMULATOR_CONNECT_TIMEOUT_MS): Promise<void> {
  const { host, port } = parseHostPort(emulatorHost);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string, cause?: unknown) => {
      socket.destroy();
      reject(new DspipeError('DSPIPE_UNREACHABLE', `cannot reach the emulator at ${emulatorHost}: ${why}`, { hint: START_EMULATOR, cause }));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s`));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ECONNREFUSED' ? 'connection refused (nothing listens there)' : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? `no such host ${JSON.stringify(host)}` : err.message;
      fail(why, err);
    });
  });
}

/** Turns google-auth-library's failure to find credentials into one message with what to do. */
function credentialsError(err: unknown, env: NodeJS.ProcessEnv): DspipeError {
  const file = env.GOOGLE_APPLICATION_CREDENTIALS;
  const message = String((err as Error | undefined)?.message ?? err).split('\n')[0]!;
  const what = file
    ? `cannot use the credentials GOOGLE_APPLICATION_CREDENTIALS names (${file}): ${message}`
    : 'no Google Cloud credentials found (Application Default Credentials)';
  return new DspipeError('DSPIPE_CREDENTIALS', what, {
    hint: file
      ? 'point GOOGLE_APPLICATION_CREDENTIALS at a service account key file, or unset it and run `gcloud auth application-default login`; for an emulator pass --emulator-host HOST:PORT'
      : 'run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file); for an emulator pass --emulator-host HOST:PORT',
    cause: err,
  });
}

/**
 * The raw GAPIC client: exact int64s, doubles and excludeFromIndexes.
 *
 * Every RPC first waits for one check per client: against an emulator, that
 * its port accepts a TCP connection (a refused or unknown host fails in
 * milliseconds, naming it, instead of gRPC's UNAVAILABLE retried for half a
 * minute); against production, that credentials load. The GAPIC client
 * would otherwise fail every call with google-auth's stack and, for each,
 * leave an unhandled rejection that kills the process.
 */
export function createClient(connection: Connection, env: NodeJS.ProcessEnv = process.env): DatastoreClient {
  const client = new v1.DatastoreClient(clientOptions(connection));
  let ready: Promise<void> | undefined;
  const check = () =>
    (ready ??= (connection.emulatorHost !== undefined
      ? probeEmulator(connection.emulatorHost)
      : client.auth.getClient().then(() => undefined, (err: unknown) => Promise.reject(credentialsError(err, env)))
    ).catch((err: unknown) => {
      ready = undefined; // checked again on the next call: the emulator may have started meanwhile
      throw err;
    }));
  const methods = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of RPCS) {
    const call = methods[name]!.bind(client);
    methods[name] = async (...args: unknown[]) => {
      await check();
      return call(...args);
    };
  }
  // A deadline on each RPC, and word of what is being waited for (deadline.ts).
  const wrapped = withDeadlines(client, {
    host: connection.emulatorHost ?? PRODUCTION_HOST,
    ...(connection.rpcTimeoutMs !== undefined && { timeoutMs: connection.rpcTimeoutMs }),
    ...(connection.onWaiting !== undefined && { onWaiting: connection.onWaiting }),
  });
  checks.set(wrapped, check);
  return wrapped;
}

const checks = new WeakMap<object, () => Promise<void>>();

/** The reachability / credentials check of a client createClient made, for RPCs sent beside it (raw-transport.ts). */
export function connectionCheck(client: DatastoreClient): (() => Promise<void>) | undefined {
  return checks.get(client);
}

/** Where production Datastore answers, for messages. */
export const PRODUCTION_HOST = 'datastore.googleapis.com';

/** The Datastore Admin API client (indexes, managed export and import). */
export function createAdminClient(connection: Connection): DatastoreAdminClient {
  return new v1.DatastoreAdminClient(clientOptions(connection));
}

/** The high-level client, for tests and the naive baselines in bench/. */
export function createDatastore(connection: Connection): Datastore {
  const options: Record<string, unknown> = clientOptions(connection);
  if (connection.databaseId !== '') options.databaseId = connection.databaseId;
  return new Datastore(options);
}

/** Request fields every RPC carries. */
export function requestBase(connection: Connection): { projectId: string; databaseId: string } {
  return { projectId: connection.projectId, databaseId: connection.databaseId };
}
