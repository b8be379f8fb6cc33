/**
 * dspipe's channel advertises a large HTTP/2 receive window (connection.ts,
 * FLOW_CONTROL_WINDOW), for each stream and for the connection, from both the
 * raw client and the high-level one: checked where it counts, in the SETTINGS
 * and WINDOW_UPDATE frames a plain node:http2 server receives from them. The
 * server answers every call trailers-only with UNIMPLEMENTED, so each call
 * fails at once, after the connection's settings are in.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createClient, createDatastore, FLOW_CONTROL_WINDOW, resolveConnection } from '../../src/datastore/connection.js';
import { SINGLE_ATTEMPT } from '../../src/datastore/run-query.js';

let server: Http2Server;
let host: string;
const sessions: ServerHttp2Session[] = [];
/** The initial window size of every SETTINGS frame the clients sent. */
const windows: number[] = [];

before(async () => {
  server = createServer();
  server.on('session', (session) => {
    sessions.push(session);
    session.on('remoteSettings', (s) => windows.push(s.initialWindowSize ?? 65_535));
  });
  server.on('stream', (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'no' }, { endStream: true }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const s of sessions) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The connection-level window the newest session's peer allows us to send into, once its WINDOW_UPDATE is in. */
async function connectionWindow(): Promise<number> {
  const session = sessions.at(-1)!;
  for (let i = 0; i < 50 && session.state.remoteWindowSize! < FLOW_CONTROL_WINDOW / 2; i++) await new Promise((r) => setTimeout(r, 10));
  return session.state.remoteWindowSize!;
}

test('the raw client advertises the large window, per stream and for the connection', async () => {
  const connection = resolveConnection({ emulatorHost: host, projectId: 'p' }, {});
  const client = createClient(connection);
  try {
    const before = windows.length;
    await assert.rejects(client.runQuery({ projectId: 'p', query: { kind: [{ name: 'K' }] } }, SINGLE_ATTEMPT), /UNIMPLEMENTED|12/);
    assert.ok(windows.length > before, 'the client sent its settings');
    assert.equal(windows.at(-1), FLOW_CONTROL_WINDOW);
    // Node's default connection window is 65,535 bytes; grpc-js raises it with a WINDOW_UPDATE.
    assert.ok((await connectionWindow()) >= FLOW_CONTROL_WINDOW - 65_535, `connection window ${sessions.at(-1)!.state.remoteWindowSize}`);
  } finally {
    await client.close();
  }
});

test('so does the high-level client dspipe makes', async () => {
  const ds = createDatastore(resolveConnection({ emulatorHost: host, projectId: 'p' }, {}));
  try {
    const before = windows.length;
    await assert.rejects(ds.runQuery(ds.createQuery('K')), /UNIMPLEMENTED|12/);
    assert.ok(windows.length > before, 'the client sent its settings');
    assert.equal(windows.at(-1), FLOW_CONTROL_WINDOW);
    assert.ok((await connectionWindow()) >= FLOW_CONTROL_WINDOW - 65_535);
  } finally {
    for (const c of (ds as unknown as { clients_: Map<string, { close(): Promise<void> }> }).clients_.values()) await c.close();
  }
});
