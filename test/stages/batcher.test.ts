import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createBatcher, type WriteOp } from '../../src/stages/batcher.js';
import { mutationBytes } from '../../src/format/batching.js';
import type { IEntity } from '../../src/model/proto.js';
import { collect, recordEvents, tick } from './restore-stream-helpers.js';

const entity = (i: number, pad = 10): IEntity => ({
  key: { partitionId: { projectId: 'p' }, path: [{ kind: 'K', id: String(i) }] },
  properties: { s: { stringValue: 'x'.repeat(pad), excludeFromIndexes: true } },
});

describe('batcher', () => {
  test('entities become upserts (or the chosen op); batches close by count and at the end', async () => {
    const b = createBatcher({ maxOps: 4, op: 'insert' });
    const sink = collect<WriteOp[]>();
    await pipeline(Readable.from(Array.from({ length: 10 }, (_, i) => entity(i + 1))), b, sink);
    assert.deepEqual(sink.items.map((x) => x.length), [4, 4, 2]);
    assert.ok(sink.items.flat().every((op) => op.op === 'insert'));
    assert.deepEqual([b.ops, b.batches], [10, 3]);
  });

  test('WriteOps pass as they are; batches stay under maxBytes', async () => {
    const ops: WriteOp[] = Array.from({ length: 30 }, (_, i) => ({ op: i % 3 === 0 ? 'delete' : 'upsert', entity: entity(i + 1, 1000 + i * 37), ...(i % 3 === 0 && { key: entity(i + 1).key! }) }));
    const b = createBatcher({ maxBytes: 5000 });
    const sink = collect<WriteOp[]>();
    await pipeline(Readable.from(ops), b, sink);
    assert.deepEqual(sink.items.flat(), ops);
    for (const batch of sink.items) assert.ok(batch.reduce((s, op) => s + mutationBytes(op), 0) <= 5000);
    assert.equal(b.bytes, ops.reduce((s, op) => s + mutationBytes(op), 0));
  });

  test('events, finished() and an empty input', async () => {
    const b = createBatcher();
    const events = recordEvents(b);
    const sink = collect<WriteOp[]>();
    const done = finished(b);
    await pipeline(Readable.from([]), b, sink);
    await done;
    await tick();
    assert.deepEqual(sink.items, []);
    assert.deepEqual([events.get('end'), events.get('finish'), events.get('close'), events.get('error')], [1, 1, 1, undefined]);
  });

  test('an upstream error rejects the pipeline and closes the batcher', async () => {
    const b = createBatcher();
    const events = recordEvents(b);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, b, collect());
    source.push(entity(1));
    source.destroy(new Error('boom'));
    await assert.rejects(p, /boom/);
    await tick();
    assert.equal(events.get('close'), 1);
  });

  test('backpressure: with no reader, writes report a full buffer', () => {
    const b = createBatcher({ maxOps: 1 });
    let accepted = true;
    let n = 0;
    while (accepted && n < 10_000) accepted = b.write(entity(++n));
    assert.equal(accepted, false);
    assert.ok(n < 1000, `accepted ${n} entities with nobody reading`);
    b.destroy();
  });

  test('destroy mid-stream', async () => {
    const b = createBatcher();
    const events = recordEvents(b);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, b, collect());
    source.push(entity(1));
    await tick();
    b.destroy();
    await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.deepEqual([events.get('close'), events.get('error')], [1, undefined]);
  });
});
