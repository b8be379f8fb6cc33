/**
 * dspipe's emulator advertises a 16 MiB HTTP/2 receive window, per stream
 * and for the connection (emulator/listener.ts, RECEIVE_WINDOW), set through
 * grpc-js's private fields: checked in the frames a plain node:http2 client
 * receives, so a grpc-js that drops those fields fails here, not silently.
 * And a Commit far over Node's 64 KiB default still goes through. The
 * benchmarks' emulator host (bench/lib/emulator-host.ts) serves through the
 * same listener: bound by grpc-js itself it kept the 64 KiB window, and every
 * restore measured at 20 ms waited on WINDOW_UPDATEs no user's emulator sends.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { once } from 'node:events';
import { RECEIVE_WINDOW } from '../../src/emulator/listener.js';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { startEmulatorHost } from '../../bench/lib/host.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator();
});
after(() => t.close());

async function assertWideWindow(address: string): Promise<void> {
  const session: ClientHttp2Session = connect(`http://${address}`);
  try {
    const [settings] = (await once(session, 'remoteSettings')) as [Settings];
    assert.equal(settings.initialWindowSize, RECEIVE_WINDOW);
    // The connection window comes by a WINDOW_UPDATE after the settings.
    for (let i = 0; i < 100 && session.state.remoteWindowSize! < RECEIVE_WINDOW - 65_535; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(session.state.remoteWindowSize! >= RECEIVE_WINDOW - 65_535, `connection window ${session.state.remoteWindowSize}`);
  } finally {
    session.destroy();
  }
}

test('the emulator advertises the large window, per stream and for the connection', () => assertWideWindow(t.emulator.address));

test("the benchmarks' emulator host advertises it too, on each latency's port", async () => {
  const host = await startEmulatorHost([0, 20]);
  try {
    await assertWideWindow(host.address(0));
    await assertWideWindow(host.address(20));
  } finally {
    await host.stop();
  }
});

test('a 5 MB Commit goes through and reads back whole', async () => {
  const base = { projectId: t.connection.projectId, databaseId: t.connection.databaseId };
  const text = 'x'.repeat(1_000_000);
  const mutations = Array.from({ length: 5 }, (_, i) => ({
    upsert: { key: { partitionId: base, path: [{ kind: 'Big', name: `b${i}` }] }, properties: { s: { stringValue: text + i, excludeFromIndexes: true } } },
  }));
  await t.client.commit({ ...base, mode: 'NON_TRANSACTIONAL', mutations });
  const [res] = (await t.client.lookup({ ...base, keys: mutations.map((m) => m.upsert.key) })) as [{ found?: Array<{ entity: { properties: Record<string, { stringValue?: string }> } }> }];
  assert.deepEqual(res.found!.map((f) => f.entity.properties.s!.stringValue!.length).sort(), Array(5).fill(1_000_001));
});
