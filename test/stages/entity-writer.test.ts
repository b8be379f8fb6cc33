import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createEntityWriter } from '../../src/stages/entity-writer.js';
import type { WriteOp } from '../../src/format/batching.js';
import { requestBase, type DatastoreClient } from '../../src/datastore/connection.js';
import type { IEntity } from '../../src/model/proto.js';
import { isDspipeError, type DspipeError } from '../../src/errors.js';
import { lookupAll } from '../../src/demo/seed.js';
import { recordEvents, tick } from './restore-stream-helpers.js';
import { createRawTransport } from '../../src/datastore/raw-transport.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator({ projectId: 'w', latencyMs: 5 });
});
after(() => t.close());

const entity = (kind: string, id: number, text = `e${id}`): IEntity => ({
  key: { partitionId: { projectId: 'w', databaseId: '', namespaceId: '' }, path: [{ kind, id: String(id) }] },
  properties: { text: { stringValue: text } },
});
const batches = (kind: string, n: number, size: number): WriteOp[][] =>
  Array.from({ length: n }, (_, b) => Array.from({ length: size }, (_, i) => ({ op: 'upsert' as const, entity: entity(kind, b * size + i + 1) })));

/** The real client, with the number of commits in flight watched. */
function watched(client: DatastoreClient): { client: DatastoreClient; max: () => number } {
  let inflight = 0;
  let max = 0;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'commit') return Reflect.get(target, prop, receiver);
      return async (...args: unknown[]) => {
        max = Math.max(max, ++inflight);
        try {
          return await (target.commit as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          inflight--;
        }
      };
    },
  });
  return { client: proxy, max: () => max };
}

describe('entityWriter', () => {
  test('commits every batch, counts, and finishes once', async () => {
    const w = createEntityWriter(t.client, t.connection, { writers: 2 });
    const events = recordEvents(w);
    const input = batches('A', 5, 10);
    await pipeline(Readable.from(input), w);
    await tick();
    assert.deepEqual([w.written, w.commits, w.rejected, w.conflicts], [50, 5, 0, 0]);
    assert.ok(w.bytes > 0);
    assert.deepEqual([events.get('finish'), events.get('close'), events.get('error')], [1, 1, undefined]);
    const back = await lookupAll(t.client, t.connection, input.flat().map((op) => op.entity!.key!));
    assert.equal(back.size, 50);
  });

  test('never more than `writers` commits in flight', async () => {
    const { client, max } = watched(t.client);
    const w = createEntityWriter(client, t.connection, { writers: 3 });
    await pipeline(Readable.from(batches('B', 12, 5)), w);
    assert.equal(w.written, 60);
    assert.equal(max(), 3);
  });

  test('with a raw transport, batches for every writer wait ready beside the commits in flight; without, one', async () => {
    for (const [transport, expected] of [
      [createRawTransport(t.client, t.connection), [true, true, true, true, false, false]],
      [undefined, [true, true, false, false, false, false]],
    ] as const) {
      const w = createEntityWriter(t.client, t.connection, { writers: 3, transport });
      const input = batches(transport ? 'R1' : 'R2', 6, 2);
      // all written before the first commit (5 ms of latency) can answer
      assert.deepEqual(input.map((b) => w.write(b)), expected);
      w.end();
      await finished(w);
      assert.equal(w.written, 12);
    }
  });

  test('a stale baseVersion is reported to onConflict, not an error', async () => {
    const e = entity('C', 1);
    const [first] = await t.client.commit({ ...requestBase(t.connection), mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: e }] });
    const version = String(first.mutationResults![0]!.version);
    await t.client.commit({ ...requestBase(t.connection), mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: entity('C', 1, 'changed') }] });
    const conflicts: WriteOp[] = [];
    const w = createEntityWriter(t.client, t.connection, { onConflict: (op) => conflicts.push(op) });
    const stale: WriteOp = { op: 'update', entity: entity('C', 1, 'mine'), baseVersion: version };
    const fresh: WriteOp = { op: 'upsert', entity: entity('C', 2) };
    await pipeline(Readable.from([[stale, fresh]]), w);
    assert.deepEqual(conflicts, [stale]);
    assert.deepEqual([w.conflicts, w.written], [1, 1]);
    const back = await lookupAll(t.client, t.connection, [e.key!]);
    assert.equal([...back.values()][0]!.properties!.text!.stringValue, 'changed');
  });

  const withBad = (): WriteOp[] => {
    const ops = batches('D', 1, 9)[0]!;
    ops[5] = { op: 'upsert', entity: entity('D', 6, 'y'.repeat(1501)) };
    return ops;
  };

  test('a refused entity fails the stream naming its key (found by splitting the batch)', async () => {
    const w = createEntityWriter(t.client, t.connection);
    const events = recordEvents(w);
    const done = finished(w);
    await assert.rejects(pipeline(Readable.from([withBad()]), w), (err: unknown) => isDspipeError(err, 'DSPIPE_REJECTED_ENTITY') && err.key === 'D(6)' && err.kind === 'D');
    await assert.rejects(done);
    await tick();
    assert.deepEqual([events.get('error'), events.get('close')], [1, 1]);
  });

  test('with onRejected the refused entity is handed over and the rest written', async () => {
    const rejected: Array<[WriteOp, DspipeError]> = [];
    const w = createEntityWriter(t.client, t.connection, { onRejected: (op, err) => void rejected.push([op, err]) });
    await pipeline(Readable.from([withBad()]), w);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]![1].key, 'D(6)');
    assert.deepEqual([w.written, w.rejected], [8, 1]);
  });

  test('transient faults are retried by our policy (gax retries off) and everything lands', async () => {
    const faulty = await startTestEmulator({ projectId: 'w', faults: { rate: 0.3, seed: 11 } });
    try {
      const w = createEntityWriter(faulty.client, faulty.connection, { writers: 2, retry: { maxAttempts: 30, initialDelayMs: 1, maxDelayMs: 20, multiplier: 2 } });
      await pipeline(Readable.from(batches('E', 10, 10)), w);
      assert.equal(w.written, 100);
      assert.ok(w.retries > 0);
      assert.equal(w.commits, 10);
    } finally {
      await faulty.close();
    }
  });

  test('destroy mid-stream: close once, no error', async () => {
    const w = createEntityWriter(t.client, t.connection, { writers: 1 });
    const events = recordEvents(w);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, w);
    source.push(batches('F', 1, 5)[0]);
    await tick();
    w.destroy();
    await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.deepEqual([events.get('close'), events.get('error')], [1, undefined]);
  });
});
