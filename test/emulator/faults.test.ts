import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../src/emulator/index.js';
import { DEFAULT_FAULT_CODES } from '../../src/emulator/faults.js';
import { withEmulator, type TestEmulator } from '../helpers/emulator.js';
import type { IEntityResult } from '../../src/model/proto.js';
import { Code, commit, entity, key, lookup } from './conformance.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';
import { commitRequestBytes } from '../../src/format/wire/commit.js';

async function outcomes(t: TestEmulator, n: number): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await lookup(t, [key('F', 1)]);
      codes.push(0);
    } catch (err) {
      codes.push((err as { code: number }).code);
    }
  }
  return codes;
}

describe('emulator fault injection, latency and stop', () => {
  it('fails about the configured share of RPCs with the transient codes, reproducibly for a seed', async () => {
    const faults = { rate: 0.3, seed: 42 };
    const a = await withEmulator((t) => outcomes(t, 300), { faults });
    const b = await withEmulator((t) => outcomes(t, 300), { faults });
    assert.deepEqual(a, b, 'same seed, same failures');
    const failed = a.filter((c) => c !== 0);
    assert.ok(failed.length > 300 * 0.2 && failed.length < 300 * 0.4, `${failed.length} of 300 failed`);
    assert.deepEqual(new Set(failed), new Set(DEFAULT_FAULT_CODES), 'every transient code shows up');
    const c = await withEmulator((t) => outcomes(t, 300), { faults: { rate: 0.3, seed: 7 } });
    assert.notDeepEqual(a, c, 'another seed, other failures');
  });

  it('fails only with the chosen codes', async () => {
    const codes = await withEmulator((t) => outcomes(t, 50), { faults: { rate: 1, seed: 1, codes: [Code.RESOURCE_EXHAUSTED] } });
    assert.deepEqual(new Set(codes), new Set([Code.RESOURCE_EXHAUSTED]));
  });

  it('a failed Commit has no effect', async () => {
    await withEmulator(
      async (t) => {
        const written: number[] = [];
        for (let i = 1; i <= 40; i++) {
          try {
            await commit(t, [{ upsert: entity(key('FC', i)) }]);
            written.push(i);
          } catch (err) {
            assert.ok(DEFAULT_FAULT_CODES.includes((err as { code: number }).code));
          }
        }
        assert.ok(written.length > 5 && written.length < 35);
        const all = Array.from({ length: 40 }, (_, i) => key('FC', i + 1));
        for (;;) {
          try {
            const r = await lookup(t, all);
            const found = r.found!.map((f: IEntityResult) => Number(f.entity!.key!.path![0]!.id)).sort((x: number, y: number) => x - y);
            assert.deepEqual(found, written);
            break;
          } catch (err) {
            if (!DEFAULT_FAULT_CODES.includes((err as { code: number }).code)) throw err;
          }
        }
        assert.ok([...t.emulator.faultsInjected().values()].reduce((s, n) => s + n, 0) >= 40 - written.length);
      },
      { faults: { rate: 0.5, seed: 3 } },
    );
  });

  it('adds latency to every RPC', async () => {
    await withEmulator(
      async (t) => {
        await lookup(t, [key('L', 1)]); // connect first
        const start = performance.now();
        await lookup(t, [key('L', 1)]);
        const elapsed = performance.now() - start;
        assert.ok(elapsed >= 145, `took ${elapsed} ms`);
      },
      { latencyMs: 150 },
    );
  });

  // Requests are decoded after the added latency (server.ts, Undecoded), so their objects die young: a request that
  // does not decode still fails as grpc-js fails it, after the latency, and a good one after it is still served.
  it('a request that does not decode fails INTERNAL after the latency; the next one is served', async () => {
    await withEmulator(
      async (t) => {
        const transport = createRawTransport(t.client, t.connection)!;
        await lookup(t, [key('L', 1)]); // connect first
        const start = performance.now();
        // field 6 (mutations), length 5, but only 2 bytes follow
        await assert.rejects(transport.commit(Buffer.from([0x32, 0x05, 0x01, 0x02])), (e: { code?: number; details?: string }) => {
          assert.equal(e.code, Code.INTERNAL);
          assert.equal(e.details, 'Error deserializing request');
          return true;
        });
        const elapsed = performance.now() - start;
        assert.ok(elapsed >= 95, `failed after ${elapsed} ms, before the 100 ms latency`);
        await transport.commit(commitRequestBytes(t.connection.projectId, t.connection.databaseId, []));
      },
      { latencyMs: 100 },
    );
  });

  it('stop() closes the server: later calls fail UNAVAILABLE, and stop is idempotent', async () => {
    await withEmulator(async (t) => {
      await lookup(t, [key('S', 1)]);
      await t.emulator.stop();
      await assert.rejects(lookup(t, [key('S', 1)]), (e: { code?: number }) => e.code === Code.UNAVAILABLE);
      await t.emulator.stop();
    });
  });

  it('picks a free port for port 0 and refuses bad options', async () => {
    const a = await startEmulator({ port: 0 });
    const b = await startEmulator({ port: 0 });
    try {
      assert.notEqual(a.port, b.port);
      assert.ok(a.port > 0);
      assert.equal(a.address, `localhost:${a.port}`);
    } finally {
      await a.stop();
      await b.stop();
    }
    await assert.rejects(startEmulator({ faults: { rate: 2 } }), RangeError);
    await assert.rejects(startEmulator({ port: -1 }), RangeError);
  });
});
