/**
 * Where dspipe talks to: an emulator (ours or Google's) or a production
 * project, and which named database. Resolved once per command from flags
 * and the environment, then used to build clients.
 */
import * as grpc from '@grpc/grpc-js';
import { Datastore, v1 } from '@google-cloud/datastore';

export type DatastoreClient = InstanceType<typeof v1.DatastoreClient>;
import { DspipeError } from '../errors.js';

export interface ConnectionOptions {
  /** Project id; falls back to DATASTORE_PROJECT_ID, GOOGLE_CLOUD_PROJECT, then the credentials' project. */
  projectId?: string;
  /** Named database; '' (the default) is the `(default)` database. */
  databaseId?: string;
  /** host:port of an emulator; falls back to DATASTORE_EMULATOR_HOST. */
  emulatorHost?: string;
}

export interface Connection {
  projectId: string;
  databaseId: string;
  /** Set when talking to an emulator; undefined for production. */
  emulatorHost?: string;
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

function clientOptions(connection: Connection): Record<string, unknown> {
  if (connection.emulatorHost === undefined) return { projectId: connection.projectId };
  const { host, port } = parseHostPort(connection.emulatorHost);
  return {
    projectId: connection.projectId,
    servicePath: host,
    apiEndpoint: `${host}:${port}`,
    port,
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  };
}

/** The raw GAPIC client: exact int64s, doubles and excludeFromIndexes. */
export function createClient(connection: Connection): DatastoreClient {
  return new v1.DatastoreClient(clientOptions(connection));
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
