/**
 * The RPC face of the emulator: google.datastore.v1.Datastore loaded from
 * the .proto files shipped inside @google-cloud/datastore (and google-gax for
 * the google/api and protobuf imports), with proto-loader options that make
 * requests look like the client's objects (int64 as strings, enums as names,
 * oneof names set). Every call, gRPC or REST, goes through one dispatcher:
 * added latency and fault injection first, then the documented request size
 * limit, then the service method.
 *
 * Services are registered in one table (`services()`), each with its gRPC
 * definition and one handler per method; the REST routes (http.ts) are
 * derived from the same table, so a new service needs one entry here.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DatastoreService } from './service.js';
import type { FaultInjector } from './faults.js';
import type { WriteLimit } from './write-limit.js';
import { MAX_REQUEST_BYTES } from '../model/limits.js';
import { RpcError, Status, toStatus } from './rpc-error.js';
import { encodeCommitResponse, encodeLookupResponse, encodeRunQueryResponse } from './wire.js';
import { decodeCommitRequest } from './commit-request.js';
import { adminServices } from './admin-server.js';

const require = createRequire(import.meta.url);

export function protoDirs(): { datastore: string; gax: string } {
  const datastoreMain = require.resolve('@google-cloud/datastore');
  const datastore = path.resolve(path.dirname(require.resolve('@google-cloud/datastore/package.json')), 'build/protos');
  // google-gax is a dependency of @google-cloud/datastore: resolve it from there.
  const gaxMain = createRequire(datastoreMain).resolve('google-gax');
  const gax = path.resolve(path.dirname(gaxMain), '../protos');
  return { datastore, gax };
}

let cached: grpc.ServiceDefinition | undefined;

/** The proto-loader definition of google.datastore.v1.Datastore (loaded once). */
/** How every emulator service's protos are loaded (the Datastore API here, the Admin API in admin-server.ts). */
export function protoLoadOptions(dirs: { datastore: string; gax: string }): protoLoader.Options {
  return { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [dirs.gax, dirs.datastore] };
}

export function serviceDefinition(): grpc.ServiceDefinition {
  if (cached !== undefined) return cached;
  const dirs = protoDirs();
  const definition = protoLoader.loadSync(path.join(dirs.datastore, 'google/datastore/v1/datastore.proto'), protoLoadOptions(dirs));
  cached = definition['google.datastore.v1.Datastore'] as grpc.ServiceDefinition;
  return cached;
}

/** Responses that carry entities in bulk, and Commit's one result per entity, get the direct encoder (wire.ts). */
const FAST_SERIALIZERS: Record<string, (value: Record<string, unknown>) => Buffer | undefined> = {
  RunQuery: encodeRunQueryResponse,
  Lookup: encodeLookupResponse,
  Commit: encodeCommitResponse,
};

/**
 * Requests that carry entities in bulk get the direct decoder (commit-request.ts): the same
 * object proto-loader gives, or undefined for proto-loader to decode.
 */
const FAST_DESERIALIZERS: Record<string, (buffer: Buffer) => object | undefined> = {
  Commit: decodeCommitRequest,
};

/** Server-side limits sit above Datastore's 10 MiB so that its limit, checked by us, decides. */
export const TRANSPORT_LIMIT = 64 * 1024 * 1024;

export interface ServeOptions {
  latencyMs?: number;
  faults?: FaultInjector;
  /** Refuse Commits above a write rate (--max-write-rps). */
  writeLimit?: WriteLimit;
}

/** One method of a registered service: how its messages are coded, and what serves it. */
export interface Method {
  /** gRPC method name, e.g. `Lookup`. */
  name: string;
  definition: grpc.MethodDefinition<object, unknown>;
  handle: (request: never) => unknown;
}

/** A gRPC service with its handlers; `restPrefix` maps `POST <prefix>/projects/P:method` onto it. */
export interface RegisteredService {
  /** Fully qualified proto name, e.g. `google.datastore.v1.Datastore`. */
  name: string;
  restPrefix: string;
  methods: Map<string, Method>;
}

/** Every service the emulator serves, on gRPC and REST alike. */
export function services(service: DatastoreService): RegisteredService[] {
  const handlers: Record<string, (request: never) => unknown> = {
    Lookup: (r) => service.lookup(r),
    RunQuery: (r) => service.runQuery(r),
    RunAggregationQuery: (r) => service.runAggregationQuery(r),
    BeginTransaction: (r) => service.beginTransaction(r),
    Commit: (r) => service.commit(r),
    Rollback: (r) => service.rollback(r),
    AllocateIds: (r) => service.allocateIds(r),
    ReserveIds: (r) => service.reserveIds(r),
  };
  return [register('google.datastore.v1.Datastore', '/v1', serviceDefinition(), handlers), ...adminServices(service)];
}

/** Pairs a loaded service definition with its handlers (a method without one answers UNIMPLEMENTED). */
export function register(
  name: string,
  restPrefix: string,
  definition: grpc.ServiceDefinition,
  handlers: Record<string, (request: never) => unknown>,
): RegisteredService {
  const methods = new Map<string, Method>();
  for (const [method, def] of Object.entries(definition) as [string, grpc.MethodDefinition<object, unknown>][]) {
    const fast = FAST_SERIALIZERS[method];
    const fastIn = FAST_DESERIALIZERS[method];
    const handle =
      handlers[method] ??
      (() => {
        throw new RpcError(Status.UNIMPLEMENTED, `Method ${name}.${method} is not implemented by dspipe's emulator.`);
      });
    methods.set(method, {
      name: method,
      definition: {
        ...def,
        ...(fast && { responseSerialize: (value: unknown) => fast(value as Record<string, unknown>) ?? def.responseSerialize(value) }),
        ...(fastIn && { requestDeserialize: (buffer: Buffer) => fastIn(buffer) ?? def.requestDeserialize(buffer) }),
      },
      handle,
    });
  }
  return { name, restPrefix, methods };
}

/**
 * A gRPC request's bytes, decoded only when the dispatcher gets to it: after
 * the added latency. Decoded on arrival, a Commit's objects (thousands per
 * request) outlived the sleep, survived the young generation's collections
 * and were promoted, so the old generation filled with garbage and its
 * collections took a quarter or more of the emulator's CPU in a restore at
 * 20 ms; decoded after it, they die young. A request that does not decode
 * fails as grpc-js fails it (INTERNAL, "Error deserializing request"), one
 * round trip later, as it would in production.
 */
export class Undecoded {
  constructor(
    readonly bytes: Buffer,
    private readonly deserialize: (buffer: Buffer) => object,
  ) {}

  decode(): object {
    try {
      return this.deserialize(this.bytes);
    } catch {
      throw new RpcError(Status.INTERNAL, 'Error deserializing request');
    }
  }
}

/** Runs one call the same way whichever transport it came by. */
export type Dispatch = (method: Method, request: object, size: number) => Promise<unknown>;

export function createDispatcher(options: ServeOptions): Dispatch {
  const latencyMs = options.latencyMs ?? 0;
  const faults = options.faults;
  const writeLimit = options.writeLimit;
  return async (method, received, size) => {
    if (latencyMs > 0) await sleep(latencyMs);
    const fault = faults?.next();
    if (fault !== undefined) throw new RpcError(fault.code, fault.details);
    if (size > MAX_REQUEST_BYTES) {
      throw new RpcError(Status.INVALID_ARGUMENT, `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`);
    }
    const request = received instanceof Undecoded ? received.decode() : received;
    if (writeLimit !== undefined && method.name === 'Commit') writeLimit.admit((request as { mutations?: unknown[] }).mutations?.length ?? 0);
    return await method.handle(request as never);
  };
}

/** A grpc-js server for the registered services; the caller binds it or injects connections into it. */
export function createGrpcServer(registered: readonly RegisteredService[], dispatch: Dispatch): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': TRANSPORT_LIMIT,
    'grpc.max_send_message_length': TRANSPORT_LIMIT,
  });
  for (const svc of registered) {
    const definition: Record<string, grpc.MethodDefinition<object, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of svc.methods.values()) {
      const deserialize = method.definition.requestDeserialize as (buffer: Buffer) => object;
      definition[method.name] = {
        ...method.definition,
        requestDeserialize: (buffer: Buffer) => new Undecoded(buffer, deserialize),
      };
      const handler: grpc.handleUnaryCall<Undecoded, unknown> = (call, callback) => {
        dispatch(method, call.request, call.request.bytes.length).then(
          (response) => callback(null, response),
          (err: unknown) => callback(toStatus(err)),
        );
      };
      implementation[method.name] = handler as grpc.handleUnaryCall<object, unknown>;
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
  return server;
}

/** The gRPC server alone (benchmarks bind it themselves). */
export function createServer(service: DatastoreService, options: ServeOptions): grpc.Server {
  return createGrpcServer(services(service), createDispatcher(options));
}
