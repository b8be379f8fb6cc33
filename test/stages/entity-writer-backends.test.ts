/**
 * The entity writer against the backend DSPIPE_TEST_BACKEND names, through the
 * real client: request caps (4 MiB on Google's emulators, 10 MiB on ours and
 * production) and the dspipe error code each backend's refusal maps to.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeBackend, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { createEntityWriter } from '../../src/stages/entity-writer.js';
import { mutationBytes, type WriteOp } from '../../src/format/batching.js';
import type { DatastoreClient } from '../../src/datastore/connection.js';
import type { ICommitRequest, IEntity, IKey, IValue } from '../../src/model/proto.js';
import { isDspipeError } from '../../src/errors.js';
import { lookupAll } from '../../src/demo/seed.js';

let t: TestBackend;
before(async () => {
  t = await startTestBackend();
});
after(() => t.close());

const BIG = 'x'.repeat(900_000);
const key = (kind: string, name: string): IKey => ({ partitionId: { projectId: t.connection.projectId, namespaceId: '' }, path: [{ kind, name }] });
const big = (kind: string, name: string): WriteOp => ({ op: 'upsert', entity: { key: key(kind, name), properties: { s: { stringValue: BIG, excludeFromIndexes: true } } } });
const one = (kind: string, name: string, p: IValue): WriteOp => ({ op: 'upsert', entity: { key: key(kind, name), properties: { p } } });

/** The real client, with every Commit recorded: its mutations' names and whether it was refused. */
function recorded(client: DatastoreClient): { client: DatastoreClient; calls: Array<{ names: string[]; bytes: number; refused?: number }> } {
  const calls: Array<{ names: string[]; bytes: number; refused?: number }> = [];
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'commit') return Reflect.get(target, prop, receiver);
      return async (request: ICommitRequest, options: unknown) => {
        const mutations = request.mutations ?? [];
        const call: { names: string[]; bytes: number; refused?: number } = {
          names: mutations.map((m) => m.upsert!.key!.path![0]!.name!),
          bytes: mutations.reduce((n, m) => n + mutationBytes({ op: 'upsert', entity: m.upsert! }), 0),
        };
        calls.push(call);
        try {
          return await (target.commit as (r: unknown, o: unknown) => Promise<unknown>)(request, options);
        } catch (err) {
          call.refused = (err as { code?: number }).code;
          throw err;
        }
      };
    },
  }) as DatastoreClient;
  return { client: proxy, calls };
}

describe(`entityWriter request caps ${describeBackend()}`, () => {
  test('six ~900 KB entities in one batch all commit, with default options', async () => {
    const { client, calls } = recorded(t.client);
    const w = createEntityWriter(client, t.connection);
    const batch = Array.from({ length: 6 }, (_, i) => big('Six', `b${i}`));
    await pipeline(Readable.from([batch]), w);
    assert.equal(w.written, 6);
    assert.equal(w.retries, 0, 'a size refusal is not retried with backoff');
    const back = await lookupAll(t.client, t.connection, batch.map((op) => op.entity!.key!));
    assert.equal(back.size, 6);
    for (const e of back.values()) assert.equal(e.properties!.s!.stringValue!.length, BIG.length);
    if (calls.some((c) => c.refused !== undefined)) {
      // Google's emulators (4 MiB): the batch was split and the budget lowered below what was refused
      assert.ok(w.splits >= 1);
      assert.ok(w.batchBytesLimit < calls[0]!.bytes, `budget ${w.batchBytesLimit}`);
    } else {
      assert.equal(t.name, 'dspipe', `${t.name} took 5.4 MB in one request`);
      assert.deepEqual([w.splits, w.batchBytesLimit, calls.length], [0, Infinity, 1]);
    }
  });

  test('over every cap (12 x 900 KB): split once, and later batches are cut to the lowered budget before they are sent', async () => {
    const { client, calls } = recorded(t.client);
    const w = createEntityWriter(client, t.connection, { writers: 1 });
    const batches = [0, 1, 2].map((b) => Array.from({ length: 12 }, (_, i) => big('Twelve', `b${b}-${i}`)));
    await pipeline(Readable.from(batches), w);
    assert.equal(w.written, 36);
    assert.equal(w.retries, 0);
    assert.ok(calls[0]!.refused !== undefined, 'the first request (10.8 MB) is over every backend\'s cap');
    const refusedLater = calls.filter((c) => c.refused !== undefined && !c.names[0]!.startsWith('b0-'));
    assert.deepEqual(refusedLater, [], 'only the first oversize batch pays');
    assert.ok(w.splits >= 1 && w.budget.splits === w.splits);
    const limit = w.batchBytesLimit;
    assert.ok(limit < calls[0]!.bytes);
    for (const c of calls.filter((c) => !c.names[0]!.startsWith('b0-'))) {
      assert.ok(c.bytes <= limit || c.names.length === 1, `a later commit of ${c.bytes} bytes over the budget ${limit}`);
    }
    const back = await lookupAll(t.client, t.connection, batches.flat().map((op) => op.entity!.key!));
    assert.equal(back.size, 36);
  });

  test('writers sharing one budget: what one learns, the others use', async () => {
    const first = createEntityWriter(t.client, t.connection);
    await pipeline(Readable.from([Array.from({ length: 12 }, (_, i) => big('Shared', `a${i}`))]), first);
    const { client, calls } = recorded(t.client);
    const second = createEntityWriter(client, t.connection, { budget: first.budget });
    await pipeline(Readable.from([Array.from({ length: 12 }, (_, i) => big('Shared', `b${i}`))]), second);
    assert.equal(second.written, 12);
    assert.deepEqual(calls.filter((c) => c.refused !== undefined), []);
    assert.equal(second.splits, 0);
  });
});

describe(`entityWriter: each backend's refusal maps to the same dspipe error code ${describeBackend()}`, () => {
  const refusedAs = async (op: WriteOp): Promise<string> => {
    const w = createEntityWriter(t.client, t.connection);
    try {
      await pipeline(Readable.from([[op]]), w);
    } catch (err) {
      assert.ok(isDspipeError(err), String(err));
      return err.code;
    }
    return 'written';
  };

  test('a blob over the entity limit is DSPIPE_ENTITY_TOO_LARGE', async () => {
    // a blob, since the legacy emulator stores strings of any length
    assert.equal(await refusedAs(one('Big', 'blob', { blobValue: Buffer.alloc(1_100_000, 1), excludeFromIndexes: true })), 'DSPIPE_ENTITY_TOO_LARGE');
  });

  test('an indexed string over 1,500 bytes is DSPIPE_REJECTED_ENTITY', async () => {
    assert.equal(await refusedAs(one('Long', 'indexed', { stringValue: 'y'.repeat(1501) })), 'DSPIPE_REJECTED_ENTITY');
  });

  test('a meaning that does not fit its value is DSPIPE_REJECTED_ENTITY', async () => {
    assert.equal(await refusedAs(one('Meaning', 'int14', { integerValue: '5', meaning: 14 })), 'DSPIPE_REJECTED_ENTITY');
    assert.equal(await refusedAs(one('Meaning', 'str22', { stringValue: 'p', meaning: 22 })), 'DSPIPE_REJECTED_ENTITY');
  });

  test('an array inside an array is DSPIPE_REJECTED_ENTITY', async () => {
    assert.equal(await refusedAs(one('Nested', 'a', { arrayValue: { values: [{ arrayValue: { values: [{ integerValue: '1' }] } }] } })), 'DSPIPE_REJECTED_ENTITY');
  });

  test('what Datastore keeps is written: text (15) and zlib (22) unindexed, a URL (2) indexed past 1,500 bytes', async () => {
    const entity: IEntity = {
      key: key('Kept', 'k'),
      properties: {
        text: { stringValue: 't'.repeat(3000), meaning: 15, excludeFromIndexes: true },
        zlib: { blobValue: Buffer.from([1, 2, 3]), meaning: 22, excludeFromIndexes: true },
        url: { stringValue: `https://example.com/${'u'.repeat(1600)}`, meaning: 2 },
      },
    };
    const w = createEntityWriter(t.client, t.connection);
    await pipeline(Readable.from([[{ op: 'upsert' as const, entity }]]), w);
    const [back] = [...(await lookupAll(t.client, t.connection, [entity.key!])).values()];
    assert.deepEqual([back!.properties!.text!.meaning, back!.properties!.zlib!.meaning, back!.properties!.url!.meaning], [15, 22, 2]);
  });
});
