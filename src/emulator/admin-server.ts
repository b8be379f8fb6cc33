/**
 * The Datastore Admin API's index methods (google.datastore.admin.v1.DatastoreAdmin)
 * and google.longrunning.Operations, through which the official
 * `v1.DatastoreAdminClient` polls its operations, as entries of the emulator's
 * service table (server.ts). gRPC only: the Admin API's REST paths
 * (`GET /v1/projects/P/indexes`) are not of the `:method` form http.ts routes.
 * Operation metadata and results are packed into google.protobuf.Any with the
 * protobufjs root of Datastore's protos (proto-json.ts).
 */
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DatastoreService } from './service.js';
import type { IndexRegistry, OperationRecord } from './indexes.js';
import { definitionFromRequest, toAdminIndex } from './indexes.js';
import { invalidArgument } from './rpc-error.js';
import { toTimestamp } from './clock.js';
import { protoRoot } from './proto-json.js';
// server.ts imports this file too; protoDirs and register are only called at run time, so the cycle is harmless.
import { protoDirs, protoLoadOptions, register, type RegisteredService } from './server.js';

const ADMIN_PROTO = 'google/datastore/admin/v1/datastore_admin.proto';
const OPERATIONS_PROTO = 'google/longrunning/operations.proto';
const TYPE_PREFIX = 'type.googleapis.com/';
/** Not a REST prefix http.ts can match (its paths start with /v1): these services are gRPC only. */
const GRPC_ONLY = '';

let loaded: { admin: grpc.ServiceDefinition; operations: grpc.ServiceDefinition } | undefined;

function definitions(): { admin: grpc.ServiceDefinition; operations: grpc.ServiceDefinition } {
  if (loaded !== undefined) return loaded;
  const dirs = protoDirs();
  const definition = protoLoader.loadSync([path.join(dirs.datastore, ADMIN_PROTO), path.join(dirs.gax, OPERATIONS_PROTO)], protoLoadOptions(dirs));
  loaded = {
    admin: definition['google.datastore.admin.v1.DatastoreAdmin'] as grpc.ServiceDefinition,
    operations: definition['google.longrunning.Operations'] as grpc.ServiceDefinition,
  };
  return loaded;
}

function pack(typeName: string, object: object): { typeUrl: string; value: Buffer } {
  const type = protoRoot().lookupType(typeName);
  return { typeUrl: TYPE_PREFIX + typeName, value: Buffer.from(type.encode(type.fromObject(object)).finish()) };
}

function operationObject(registry: IndexRegistry, op: OperationRecord): Record<string, unknown> {
  const index = registry.indexOf(op);
  const state = !op.done ? 'PROCESSING' : op.error ? 'FAILED' : 'SUCCESSFUL';
  const metadata = {
    common: {
      startTime: toTimestamp(op.startTime * 1000),
      ...(op.endTime !== undefined && { endTime: toTimestamp(op.endTime * 1000) }),
      operationType: op.type,
      state,
    },
    progressEntities: { workCompleted: op.done ? '1' : '0', workEstimated: '1' },
    indexId: op.indexId,
  };
  const out: Record<string, unknown> = {
    name: op.name,
    metadata: pack('google.datastore.admin.v1.IndexOperationMetadata', metadata),
    done: op.done,
  };
  if (op.done && op.error) out.error = { code: op.error.code, message: op.error.message, details: [] };
  else if (op.done && index) out.response = pack('google.datastore.admin.v1.Index', toAdminIndex(index));
  return out;
}

function projectOf(request: { projectId?: string | null }): string {
  const projectId = request.projectId ?? '';
  if (projectId === '') throw invalidArgument('The app id is the empty string. (project_id is required)');
  return projectId;
}

/** `projects/P/operations` (ListOperations' name) → P. */
function projectOfName(name: string): string {
  const m = /^projects\/([^/]+)/.exec(name);
  if (!m) throw invalidArgument(`${JSON.stringify(name)} is not projects/PROJECT/operations[/ID]`);
  return m[1]!;
}

/** DatastoreAdmin's index methods and the Operations service, over `service.indexes`. */
export function adminServices(service: DatastoreService): RegisteredService[] {
  const d = definitions();
  const registry = () => service.indexes;
  const admin = {
    CreateIndex: (r: { projectId?: string; index?: Record<string, unknown> }) =>
      operationObject(registry(), registry().create(projectOf(r), definitionFromRequest(r.index))),
    DeleteIndex: (r: { projectId?: string; indexId?: string }) => operationObject(registry(), registry().delete(projectOf(r), r.indexId ?? '')),
    GetIndex: (r: { projectId?: string; indexId?: string }) => toAdminIndex(registry().get(projectOf(r), r.indexId ?? '')),
    ListIndexes: (r: { projectId?: string; pageSize?: number; pageToken?: string }) => {
      const all = registry().list(projectOf(r)).map(toAdminIndex);
      const start = r.pageToken ? Number(r.pageToken) : 0;
      if (!(Number.isInteger(start) && start >= 0)) throw invalidArgument('page_token is not one this emulator returned');
      const size = r.pageSize && r.pageSize > 0 ? r.pageSize : all.length;
      const page = all.slice(start, start + size);
      return { indexes: page, nextPageToken: start + size < all.length ? String(start + size) : '' };
    },
  };
  const operations = {
    GetOperation: (r: { name?: string }) => operationObject(registry(), registry().operation(r.name ?? '')),
    ListOperations: (r: { name?: string }) => ({
      operations: registry().listOperations(projectOfName(r.name ?? '')).map((op) => operationObject(registry(), op)),
      nextPageToken: '',
    }),
    DeleteOperation: (r: { name?: string }) => (registry().operation(r.name ?? ''), {}),
    CancelOperation: (r: { name?: string }) => (registry().operation(r.name ?? ''), {}),
  };
  return [
    register('google.datastore.admin.v1.DatastoreAdmin', GRPC_ONLY, d.admin, admin as Record<string, (request: never) => unknown>),
    register('google.longrunning.Operations', GRPC_ONLY, d.operations, operations as Record<string, (request: never) => unknown>),
  ];
}
