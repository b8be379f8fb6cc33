/**
 * dspipe's in-memory Datastore emulator: a google.datastore.v1 server for
 * tests, local development and benchmarks, speaking gRPC and the REST API
 * (plus `GET /`, `POST /reset`, `POST /shutdown`) on one port.
 *
 *   const emulator = await startEmulator({ port: 0 });
 *   process.env.DATASTORE_EMULATOR_HOST = emulator.address;
 *   ...
 *   await emulator.stop();
 */
import { DatastoreService, type QueryEngine, type ServiceOptions } from './service.js';
import type { IndexDefinition } from '../format/index-yaml.js';
import { IndexFileWriter } from './index-file.js';
import { createDispatcher, createGrpcServer, services } from './server.js';
import { createHttpHandler } from './http.js';
import { listen, type Listener } from './listener.js';
import { FaultInjector, type FaultOptions } from './faults.js';
import { WriteLimit } from './write-limit.js';

export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Host to bind (default 'localhost'). */
  host?: string;
  /** Delay added to every RPC, to model a network in benchmarks. */
  latencyMs?: number;
  /** Fail a seeded share of RPCs with transient gRPC codes. */
  faults?: FaultOptions;
  /** Answer RESOURCE_EXHAUSTED to Commits above this many write operations per second, as production pushes back. */
  maxWriteRps?: number;
  /** How long old versions stay readable with read_time (default one hour). */
  retentionMs?: number;
  /** Transaction lifetime (default 270 s, as Datastore). */
  transactionTimeoutMs?: number;
  /**
   * Keep data in this folder across restarts: every acknowledged commit is on
   * disk before it is answered (durable.ts). Without it, data lives in memory only.
   */
  dataDir?: string;
  /** With dataDir: compact the log into a snapshot once it holds this many bytes (default 256 MiB). */
  compactBytes?: number;
  /**
   * A dspipe dump folder, or a managed export (its folder or .overall_export_metadata file), to load
   * before serving (streamed, in bounded memory; upserts over what dataDir holds).
   */
  importFrom?: string;
  /** Composite indexes: the Admin API, --require-indexes and --write-indexes. */
  indexes?: EmulatorIndexOptions;
}

export interface EmulatorIndexOptions {
  /** How long an index takes to build or delete through the Admin API (default 300 ms). */
  buildMs?: number;
  /**
   * Refuse, as production does, queries that need a composite index no READY
   * index serves; these indexes (an index.yaml's) start READY in every project.
   */
  require?: readonly IndexDefinition[];
  /** Keep this index.yaml up to date with every composite index a query needed (what it held is kept). */
  writeFile?: string;
  /** Told about every composite index a query needed. */
  onNeeded?: (index: IndexDefinition) => void;
}

export interface Emulator {
  host: string;
  port: number;
  /** 'host:port', the value for DATASTORE_EMULATOR_HOST. */
  address: string;
  /** The folder data is kept in (the dataDir option), or undefined when it lives in memory only. */
  dataDir: string | undefined;
  /** What importFrom loaded. */
  imported: { entities: number; format: string } | undefined;
  /** Faults injected so far, by gRPC code (empty without fault injection). */
  faultsInjected(): Map<number, number>;
  /** Commits refused by maxWriteRps so far. */
  writesRefused(): number;
  /** Drops every project's data, as `POST /reset` does (test suites call it between tests). */
  reset(): Promise<void>;
  /** Settles once the emulator has stopped, by stop() or by `POST /shutdown`. */
  readonly stopped: Promise<void>;
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
  const serviceOptions: ServiceOptions = {};
  if (options.retentionMs !== undefined) serviceOptions.retentionMs = options.retentionMs;
  if (options.transactionTimeoutMs !== undefined) serviceOptions.transactionTimeoutMs = options.transactionTimeoutMs;
  const ix = options.indexes;
  if (ix !== undefined) {
    if (ix.buildMs !== undefined && !(Number.isFinite(ix.buildMs) && ix.buildMs >= 0)) throw new RangeError(`indexes.buildMs must be >= 0, got ${ix.buildMs}`);
    const writer = ix.writeFile !== undefined ? new IndexFileWriter(ix.writeFile) : undefined;
    const onNeeded = ix.onNeeded;
    serviceOptions.indexes = {
      ...(ix.buildMs !== undefined && { buildMs: ix.buildMs }),
      ...(ix.require !== undefined && { required: ix.require }),
      ...((writer || onNeeded) && {
        record: (index: IndexDefinition) => {
          writer?.add(index);
          onNeeded?.(index);
        },
      }),
    };
  }
  let engine: Promise<QueryEngine> | undefined;
  const service = new DatastoreService(() => (engine ??= loadEngine()), serviceOptions);
  if (options.dataDir !== undefined) {
    const { DurableLog } = await import('./durable.js');
    service.durable = await DurableLog.open(options.dataDir, () => service.store, options.compactBytes !== undefined ? { compactBytes: options.compactBytes } : {});
  }
  let imported: { entities: number; format: string } | undefined;
  if (options.importFrom !== undefined) {
    const { importFrom } = await import('./import.js');
    try {
      imported = await importFrom(service, options.importFrom);
    } catch (err) {
      await service.durable?.close();
      throw err;
    }
  }
  const registered = services(service);
  const writeLimit = options.maxWriteRps !== undefined ? new WriteLimit(options.maxWriteRps) : undefined;
  const dispatch = createDispatcher({ latencyMs, ...(faults && { faults }), ...(writeLimit && { writeLimit }) });
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  let stopping: Promise<void> | undefined;
  // Give in-flight calls and open client connections a moment, then cut them off so stop() never hangs.
  const stop = () => (stopping ??= listener.close(1000).then(() => service.durable?.close()).then(markStopped));
  const onRequest = createHttpHandler(registered, dispatch, {
    reset: () => service.reset(),
    shutdown: () => void stop(),
    admin: async (method, projectId, body) => {
      const m = await import('./managed-export.js');
      return method === 'export' ? m.exportEntities(service, projectId, body) : m.importEntities(service, projectId, body);
    },
  });
  let listener: Listener;
  try {
    listener = await listen(host, requested, createGrpcServer(registered, dispatch), onRequest);
  } catch (err) {
    await service.durable?.close();
    throw err;
  }
  const port = listener.port;
  return {
    host,
    port,
    address: `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`,
    dataDir: options.dataDir,
    imported,
    faultsInjected: () => new Map(faults?.injected ?? []),
    writesRefused: () => writeLimit?.refused ?? 0,
    reset: async () => service.reset(),
    stopped,
    stop,
  };
}

export { PortInUseError } from './listener.js';
export type { FaultOptions } from './faults.js';
export { DEFAULT_FAULT_CODES } from './faults.js';
