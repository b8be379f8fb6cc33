/**
 * The raw transport against a recording gRPC server (a real @grpc/grpc-js
 * server that serves the two Datastore methods with identity serializers): it
 * sends what the GAPIC client sends for the same call — the routing header
 * (project_id, database_id), x-goog-api-client, the user agent, the request
 * bytes — and it keeps our deadlines and retry policy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createClient, resolveConnection, type Connection, type DatastoreClient } from '../../src/datastore/connection.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';
import { wirePageFetcher } from '../../src/datastore/raw-run-query.js';
import { SINGLE_ATTEMPT } from '../../src/datastore/run-query.js';
import { isDspipeError } from '../../src/errors.js';

interface Seen {
  method: string;
  metadata: Record<string, unknown>;
  body: Buffer;
}

const identity = (b: Buffer) => b;
const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/google.datastore.v1.Datastore/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

// RunQueryResponse { batch { more_results: NO_MORE_RESULTS } }
const EMPTY_LAST_BATCH = Buffer.from([0x0a, 0x02, 0x28, 0x03]);

let server: grpc.Server;
let port: number;
const seen: Seen[] = [];
/** What the next calls answer: a status code to fail with, 'hang', or undefined for the normal answer. */
const script: Array<number | 'hang'> = [];

before(async () => {
  server = new grpc.Server();
  const handler = (name: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
    seen.push({ method: name, metadata: call.metadata.getMap(), body: call.request });
    const next = script.shift();
    if (next === 'hang') return;
    if (typeof next === 'number') return done({ code: next, details: 'scripted failure' });
    done(null, name === 'RunQuery' ? EMPTY_LAST_BATCH : Buffer.alloc(0));
  };
  server.addService({ RunQuery: method('RunQuery'), Commit: method('Commit') }, { RunQuery: handler('RunQuery'), Commit: handler('Commit') });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
});
after(() => server.forceShutdown());

function connect(extra: Partial<Connection> = {}): { client: DatastoreClient; connection: Connection } {
  const connection = { ...resolveConnection({ emulatorHost: `127.0.0.1:${port}`, projectId: 'proj-1', databaseId: 'db-2' }, {}), ...extra };
  return { client: createClient(connection, {}), connection };
}

describe('raw transport', () => {
  test('sends the request bytes with the same headers as the GAPIC client', async () => {
    const { client, connection } = connect();
    const transport = createRawTransport(client, connection);
    assert.ok(transport);
    const request = { projectId: 'proj-1', databaseId: 'db-2', partitionId: { projectId: 'proj-1', databaseId: 'db-2', namespaceId: 'ns' }, query: { kind: [{ name: 'K' }] } };
    seen.length = 0;
    const raw = await transport.runQuery(request);
    await client.runQuery(request, SINGLE_ATTEMPT);
    assert.deepEqual(raw, EMPTY_LAST_BATCH);
    const [viaRaw, viaGapic] = seen;
    assert.equal(viaRaw!.method, 'RunQuery');
    assert.deepEqual(viaRaw!.body, viaGapic!.body, 'the same request bytes');
    assert.equal(viaRaw!.metadata['x-goog-request-params'], 'project_id=proj-1&database_id=db-2');
    for (const header of ['x-goog-request-params', 'x-goog-api-client', 'user-agent']) {
      assert.equal(viaRaw!.metadata[header], viaGapic!.metadata[header], header);
    }
    assert.match(String(viaRaw!.metadata['x-goog-api-client']), /gax\/\S+ gapic\/\S+ gl-node\/\S+ grpc\/\S+/);
    await client.close();
  });

  test('Commit goes out as the bytes given', async () => {
    const { client, connection } = connect();
    const transport = createRawTransport(client, connection)!;
    seen.length = 0;
    const body = Buffer.from([0x28, 0x02, 0x42, 0x06, ...Buffer.from('proj-1')]);
    await transport.commit(body);
    assert.deepEqual(seen[0]!.body, body);
    assert.equal(seen[0]!.method, 'Commit');
    await client.close();
  });

  test('transient failures are retried by our policy; the page comes back as lines', async () => {
    const { client, connection } = connect();
    const fetch = wirePageFetcher(createRawTransport(client, connection)!, connection);
    script.push(14, 10);
    const retries: number[] = [];
    const page = await fetch('ns', { kind: [{ name: 'K' }] }, undefined, {
      retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 2, multiplier: 1 },
      onRetry: (_err, attempt) => retries.push(attempt),
    });
    assert.deepEqual(retries, [1, 2]);
    assert.deepEqual([page.entities, page.done, page.results.length], [0, true, 0]);
    script.push(3);
    await assert.rejects(fetch('ns', { kind: [{ name: 'K' }] }, undefined, {}), (err) => (err as { code?: number }).code === 3);
    await client.close();
  });

  test('a host that never answers fails at its deadline, naming the host', async () => {
    const { client, connection } = connect({ rpcTimeoutMs: 300 });
    const transport = createRawTransport(client, connection)!;
    script.push('hang');
    await assert.rejects(transport.runQuery({ projectId: 'proj-1' }), (err) => isDspipeError(err, 'DSPIPE_RPC_FAILED') && err.message.includes(`127.0.0.1:${port}`));
    script.length = 0;
    await client.close();
  });

  test('no raw transport for a client that is not a GAPIC client: the caller keeps the object path', () => {
    const { connection } = connect();
    assert.equal(createRawTransport({} as DatastoreClient, connection), undefined);
  });
});
