/**
 * Raw Datastore RPCs beside the GAPIC client: requests go out as bytes dspipe
 * encoded, responses come back as bytes, so the wire fast path (format/wire/)
 * never builds entity objects.
 *
 * The calls ride on the GAPIC client's own gRPC stub (`client.initialize()`),
 * a @grpc/grpc-js Client, through `makeUnaryRequest` with identity
 * (de)serializers. So everything the library decides about the channel is
 * decided once, by the library, for both paths: the endpoint
 * (`apiEndpoint`/`servicePath`, `datastore.<universe domain>` with
 * GOOGLE_CLOUD_UNIVERSE_DOMAIN, the mTLS endpoint rules of
 * GOOGLE_API_USE_MTLS_ENDPOINT / GOOGLE_API_USE_CLIENT_CERTIFICATE, the check
 * that the credentials' universe matches), the credentials (TLS plus
 * google-auth-library's Application Default Credentials in production, the
 * insecure channel to an emulator that connection.ts configures from
 * DATASTORE_EMULATOR_HOST / --emulator-host), the channel options and the
 * user agent. Per call we send what the GAPIC method would add: the routing
 * header `x-goog-request-params` (project_id, database_id — named databases
 * are routed by it) and `x-goog-api-client`. Deadlines and the "waiting for"
 * notice come from deadline.ts, the connection check from connection.ts, and
 * retries stay with the caller (retry.ts), as on the object path.
 */
import { stringify } from 'node:querystring';
import type * as grpc from '@grpc/grpc-js';
import { withDeadlines } from './deadline.js';
import { connectionCheck, PRODUCTION_HOST, type Connection, type DatastoreClient } from './connection.js';

export interface RawCallOptions {
  /** Deadline in ms (deadline.ts fills in the connection's default). */
  timeout?: number;
}

export interface RawTransport {
  /** A RunQueryRequest given as an object (it is small: the query and a cursor), its response as bytes. */
  runQuery(request: object, options?: RawCallOptions): Promise<Buffer>;
  /** A CommitRequest given as bytes (format/wire/commit.ts), its response as bytes. */
  commit(request: Buffer, options?: RawCallOptions): Promise<Buffer>;
  /** A ReserveIdsRequest given as bytes (format/wire/reserve-ids.ts); its response (empty) as bytes. */
  reserveIds(request: Buffer, options?: RawCallOptions): Promise<Buffer>;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

const identity = (b: Buffer) => b;

interface MethodDef {
  path: string;
  requestSerialize: (value: object) => Buffer;
}

/**
 * The raw transport of a GAPIC client made by connection.ts's createClient,
 * or undefined when `client` is not one (a client given by a library user
 * that lacks the stub): the caller then keeps the object path.
 */
export function createRawTransport(client: DatastoreClient, connection: Connection): RawTransport | undefined {
  const gapic = client as Loose;
  const service = gapic._protos?.google?.datastore?.v1?.Datastore?.service as Record<string, MethodDef> | undefined;
  if (typeof gapic.initialize !== 'function' || service?.RunQuery === undefined || service.Commit === undefined || service.ReserveIds === undefined) return undefined;
  // The metadata builder gax itself uses for these calls: x-goog-api-client, plus the headers we add.
  const buildMetadata: ((abTests: unknown, headers: Record<string, string>) => grpc.Metadata) | undefined = gapic._defaults?.runQuery?.otherArgs?.metadataBuilder;
  const routing = stringify({ project_id: connection.projectId, database_id: connection.databaseId });
  const check = connectionCheck(client);
  // The Metadata class of the very grpc-js the stub was built with (grpc-js checks instanceof).
  const Metadata: typeof grpc.Metadata | undefined = gapic._gaxGrpc?.grpc?.Metadata;
  if (Metadata === undefined) return undefined;
  let stub: Promise<grpc.Client> | undefined;

  const call = async (method: MethodDef, body: Buffer, options: RawCallOptions | undefined): Promise<Buffer> => {
    await check?.();
    const s = await (stub ??= Promise.resolve(gapic.initialize() as Promise<grpc.Client>));
    let metadata: grpc.Metadata;
    if (buildMetadata !== undefined) metadata = buildMetadata(undefined, { 'x-goog-request-params': routing });
    else {
      metadata = new Metadata();
      metadata.set('x-goog-request-params', routing);
    }
    const callOptions: grpc.CallOptions = options?.timeout !== undefined ? { deadline: Date.now() + options.timeout } : {};
    return new Promise<Buffer>((resolve, reject) => {
      s.makeUnaryRequest(method.path, identity, identity, body, metadata, callOptions, (err, response) => {
        if (err) reject(err);
        else resolve(response ?? Buffer.alloc(0));
      });
    });
  };

  const transport: RawTransport = {
    runQuery: (request, options) => call(service.RunQuery!, service.RunQuery!.requestSerialize(request), options),
    commit: (request, options) => call(service.Commit!, request, options),
    reserveIds: (request, options) => call(service.ReserveIds!, request, options),
  };
  return withDeadlines(transport, {
    host: connection.emulatorHost ?? PRODUCTION_HOST,
    ...(connection.rpcTimeoutMs !== undefined && { timeoutMs: connection.rpcTimeoutMs }),
    ...(connection.onWaiting !== undefined && { onWaiting: connection.onWaiting }),
  });
}
