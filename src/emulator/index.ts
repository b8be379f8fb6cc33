/**
 * dspipe's in-memory Datastore emulator: a google.datastore.v1 gRPC server
 * for tests, local development and benchmarks.
 *
 *   const emulator = await startEmulator({ port: 0 });
 *   process.env.DATASTORE_EMULATOR_HOST = emulator.address;
 *   ...
 *   await emulator.stop();
 */
import * as grpc from '@grpc/grpc-js';
import { DatastoreService, type QueryEngine } from './service.js';
import { createServer } from './server.js';
import { FaultInjector, type FaultOptions } from './faults.js';

export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Host to bind (default 'localhost'). */
  host?: string;
  /** Delay added to every RPC, to model a network in benchmarks. */
  latencyMs?: number;
  /** Fail a seeded share of RPCs with transient gRPC codes. */
  faults?: FaultOptions;
  /** How long old versions stay readable with read_time (default one hour). */
  retentionMs?: number;
  /** Transaction lifetime (default 270 s, as Datastore). */
  transactionTimeoutMs?: number;
}

export interface Emulator {
  host: string;
  port: number;
  /** 'host:port', the value for DATASTORE_EMULATOR_HOST. */
  address: string;
  /** Faults injected so far, by gRPC code (empty without fault injection). */
  faultsInjected(): Map<number, number>;
  stop(): Promise<void>;
}

const loadEngine = (): Promise<QueryEngine> => import('./query/index.js') as Promise<QueryEngine>;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? 'localhost';
  const requested = options.port ?? 0;
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new RangeError(`emulator port must be an integer 0..65535, got ${options.port}`);
  }
  const latencyMs = options.latencyMs ?? 0;
  if (!(latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${options.latencyMs}`);
  const faults = options.faults !== undefined ? new FaultInjector(options.faults) : undefined;
  const serviceOptions: { retentionMs?: number; transactionTimeoutMs?: number } = {};
  if (options.retentionMs !== undefined) serviceOptions.retentionMs = options.retentionMs;
  if (options.transactionTimeoutMs !== undefined) serviceOptions.transactionTimeoutMs = options.transactionTimeoutMs;
  let engine: Promise<QueryEngine> | undefined;
  const service = new DatastoreService(() => (engine ??= loadEngine()), serviceOptions);
  const server = createServer(service, faults !== undefined ? { latencyMs, faults } : { latencyMs });
  const bindHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${requested}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    faultsInjected: () => new Map(faults?.injected ?? []),
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        // Give in-flight calls and open client connections a moment, then cut them off so stop() never hangs.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      })),
  };
}

export type { FaultOptions } from './faults.js';
export { DEFAULT_FAULT_CODES } from './faults.js';
