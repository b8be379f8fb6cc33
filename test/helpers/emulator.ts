/**
 * Starts dspipe's emulator on a free port and connects the real
 * @google-cloud/datastore clients to it: the raw v1.DatastoreClient (what
 * dspipe itself uses) and the high-level Datastore.
 *
 *   const t = await startTestEmulator();
 *   after(() => t.close());
 *   await t.client.commit({ projectId: t.connection.projectId, mode: 'NON_TRANSACTIONAL', mutations });
 */
import type { Datastore } from '@google-cloud/datastore';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js';
import {
  createClient,
  createDatastore,
  resolveConnection,
  type Connection,
  type DatastoreClient,
} from '../../src/datastore/connection.js';

export interface TestEmulator {
  emulator: Emulator;
  connection: Connection;
  /** Raw GAPIC client. */
  client: DatastoreClient;
  /** High-level client. */
  datastore: Datastore;
  close(): Promise<void>;
}

export interface TestEmulatorOptions extends EmulatorOptions {
  projectId?: string;
  databaseId?: string;
}

/** Closes the raw client and the high-level client's inner GAPIC clients (it keeps one per service). */
export async function closeClients(client: DatastoreClient, datastore: Datastore): Promise<void> {
  await client.close();
  const inner = (datastore as unknown as { clients_?: Map<string, { close(): Promise<void> }> }).clients_;
  for (const c of inner?.values() ?? []) await c.close();
}

export async function startTestEmulator(options: TestEmulatorOptions = {}): Promise<TestEmulator> {
  const { projectId = 'dspipe-test', databaseId, ...emulatorOptions } = options;
  const emulator = await startEmulator({ port: 0, ...emulatorOptions });
  const connection = resolveConnection(
    databaseId === undefined ? { emulatorHost: emulator.address, projectId } : { emulatorHost: emulator.address, projectId, databaseId },
    {},
  );
  const client = createClient(connection);
  const datastore = createDatastore(connection);
  let closed: Promise<void> | undefined;
  return {
    emulator,
    connection,
    client,
    datastore,
    close: () =>
      (closed ??= (async () => {
        await closeClients(client, datastore);
        await emulator.stop();
      })()),
  };
}

/** Runs `body` against a fresh emulator and closes everything afterwards. */
export async function withEmulator<T>(body: (t: TestEmulator) => Promise<T>, options: TestEmulatorOptions = {}): Promise<T> {
  const t = await startTestEmulator(options);
  try {
    return await body(t);
  } finally {
    await t.close();
  }
}
