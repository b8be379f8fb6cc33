/**
 * The gRPC face of the emulator: google.datastore.v1.Datastore loaded from
 * the .proto files shipped inside @google-cloud/datastore (and google-gax for
 * the google/api and protobuf imports), with proto-loader options that make
 * requests look like the client's objects (int64 as strings, enums as names,
 * oneof names set). Every RPC passes through added latency and fault
 * injection first, then the documented request size limit.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DatastoreService } from './service.js';
import type { FaultInjector } from './faults.js';
import { MAX_REQUEST_BYTES } from '../model/limits.js';
import { Status, toStatus } from './rpc-error.js';
import { encodeLookupResponse, encodeRunQueryResponse } from './wire.js';

const require = createRequire(import.meta.url);

function protoDirs(): { datastore: string; gax: string } {
  const datastoreMain = require.resolve('@google-cloud/datastore');
  const datastore = path.resolve(path.dirname(require.resolve('@google-cloud/datastore/package.json')), 'build/protos');
  // google-gax is a dependency of @google-cloud/datastore: resolve it from there.
  const gaxMain = createRequire(datastoreMain).resolve('google-gax');
  const gax = path.resolve(path.dirname(gaxMain), '../protos');
  return { datastore, gax };
}

let cached: grpc.ServiceDefinition | undefined;

/** The proto-loader definition of google.datastore.v1.Datastore (loaded once). */
export function serviceDefinition(): grpc.ServiceDefinition {
  if (cached !== undefined) return cached;
  const dirs = protoDirs();
  const definition = protoLoader.loadSync(path.join(dirs.datastore, 'google/datastore/v1/datastore.proto'), {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [dirs.gax, dirs.datastore],
  });
  cached = definition['google.datastore.v1.Datastore'] as grpc.ServiceDefinition;
  return cached;
}

/** Responses that carry entities in bulk get the direct encoder (wire.ts). */
const FAST_SERIALIZERS: Record<string, (value: Record<string, unknown>) => Buffer | undefined> = {
  RunQuery: encodeRunQueryResponse,
  Lookup: encodeLookupResponse,
};

/** Server-side limits sit above Datastore's 10 MiB so that its limit, checked by us, decides. */
const TRANSPORT_LIMIT = 64 * 1024 * 1024;

export interface ServeOptions {
  latencyMs?: number;
  faults?: FaultInjector;
}

export function createServer(service: DatastoreService, options: ServeOptions): grpc.Server {
  const base = serviceDefinition();
  const sizes = new WeakMap<object, number>();
  const definition: Record<string, grpc.MethodDefinition<object, unknown>> = {};
  for (const [name, method] of Object.entries(base) as [string, grpc.MethodDefinition<object, unknown>][]) {
    const fast = FAST_SERIALIZERS[name];
    definition[name] = {
      ...method,
      ...(fast ? { responseSerialize: (value: unknown) => fast(value as Record<string, unknown>) ?? method.responseSerialize(value) } : {}),
      requestDeserialize: (buffer: Buffer) => {
        const request = method.requestDeserialize(buffer) as object;
        sizes.set(request, buffer.length);
        return request;
      },
    };
  }
  const latencyMs = options.latencyMs ?? 0;
  const faults = options.faults;
  type Handler = (request: never) => unknown;
  const unary = (fn: Handler): grpc.handleUnaryCall<object, unknown> => (call, callback) => {
    const run = async () => {
      if (latencyMs > 0) await sleep(latencyMs);
      const fault = faults?.next();
      if (fault !== undefined) return callback(fault);
      const size = sizes.get(call.request) ?? 0;
      if (size > MAX_REQUEST_BYTES) {
        return callback({
          code: Status.INVALID_ARGUMENT,
          details: `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`,
        });
      }
      callback(null, await fn(call.request as never));
    };
    run().catch((err: unknown) => callback(toStatus(err)));
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': TRANSPORT_LIMIT,
    'grpc.max_send_message_length': TRANSPORT_LIMIT,
  });
  server.addService(definition as grpc.ServiceDefinition, {
    Lookup: unary((r) => service.lookup(r)),
    RunQuery: unary((r) => service.runQuery(r)),
    RunAggregationQuery: unary((r) => service.runAggregationQuery(r)),
    BeginTransaction: unary((r) => service.beginTransaction(r)),
    Commit: unary((r) => service.commit(r)),
    Rollback: unary((r) => service.rollback(r)),
    AllocateIds: unary((r) => service.allocateIds(r)),
    ReserveIds: unary((r) => service.reserveIds(r)),
  });
  return server;
}
