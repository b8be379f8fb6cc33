import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createTransformer } from '../../src/migrate/transformer.js';
import type { WriteOp } from '../../src/format/batching.js';
import type { IEntityResult } from '../../src/model/proto.js';
import type { ScriptRef } from '../../src/migrate/outcome.js';
import { isDspipeError } from '../../src/errors.js';

const result = (i: number): IEntityResult => ({
  entity: { key: { partitionId: { projectId: 'p' }, path: [{ kind: 'K', name: `k${String(i).padStart(4, '0')}` }] }, properties: { n: { integerValue: String(i) } } },
  version: String(100 + i),
});
// Even n: doubled; n % 5 === 0: deleted; the rest: left alone.
const script: ScriptRef = {
  name: 's',
  file: '/s.ts',
  transform: (e) => {
    const n = e.get('n') as bigint;
    if (n % 5n === 0n) return null;
    if (n % 2n === 0n) return e.set('n', n * 2n);
    return undefined;
  },
};
const collect = (out: WriteOp[]) => new Writable({ objectMode: true, write: (op: WriteOp, _e, cb) => (out.push(op), cb()) });

test('emits conditional upserts and deletes carrying the version read; counts and examples', async () => {
  const ops: WriteOp[] = [];
  const t = createTransformer({ script, namespace: '', kind: 'K', examples: 2 });
  await pipeline(Readable.from(Array.from({ length: 20 }, (_, i) => result(i))), t, collect(ops));
  assert.deepEqual([t.processed, t.changed, t.deleted, t.unchanged, t.skipped], [20, 8, 4, 8, 0]);
  assert.deepEqual(ops[0], { op: 'delete', key: result(0).entity!.key, baseVersion: '100' });
  assert.equal(ops[1]!.op, 'upsert');
  assert.equal(ops[1]!.baseVersion, '102');
  assert.deepEqual(ops[1]!.entity!.properties!.n, { integerValue: '4' });
  assert.equal(t.examples.length, 2);
  assert.deepEqual(t.examples[1], {
    key: 'K("k0002")',
    before: { key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: '' }, path: [{ kind: 'K', name: 'k0002' }] }, properties: { n: { integerValue: '2' } } },
    after: { key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: '' }, path: [{ kind: 'K', name: 'k0002' }] }, properties: { n: { integerValue: '4' } } },
  });
  // every op holds a ticket; nothing is done until the caller says so
  assert.equal(t.tracker.inFlight, 12);
  for (const op of ops) t.tracker.done(t.tickets.get(op)!);
  assert.deepEqual(t.tracker.frontier(), result(19).entity!.key);
});

test('resumes after the checkpoint key: earlier entities are passed over', async () => {
  const ops: WriteOp[] = [];
  const t = createTransformer({ script, namespace: '', kind: 'K', resumeAfter: result(9).entity!.key! });
  await pipeline(Readable.from(Array.from({ length: 20 }, (_, i) => result(i))), t, collect(ops));
  assert.deepEqual([t.skipped, t.processed], [10, 10]);
  assert.equal(ops[0]!.op, 'delete');
  assert.deepEqual(ops[0]!.key!.path, [{ kind: 'K', name: 'k0010' }]);
});

test('a failing transform rejects pipeline() with the coded error; onEntity is awaited per entity', async () => {
  let calls = 0;
  const t = createTransformer({
    script: { ...script, transform: (e) => { if ((e.get('n') as bigint) === 3n) throw new Error('bad'); return undefined; } },
    namespace: '',
    kind: 'K',
    onEntity: async () => void calls++,
  });
  await assert.rejects(pipeline(Readable.from(Array.from({ length: 10 }, (_, i) => result(i))), t, collect([])), (err: unknown) =>
    isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && err.key === 'K("k0003")');
  assert.equal(calls, 3);
});

test('honours backpressure: a stalled consumer stops the transformer pulling', async () => {
  let pulled = 0;
  const source = Readable.from((function* () {
    for (let i = 0; i < 10_000; i++) {
      pulled++;
      yield result(i * 2 + 2); // all even, not multiples of 5 half the time: mostly writes
    }
  })());
  const t = createTransformer({ script, namespace: '', kind: 'K' });
  const stalled = new Writable({ objectMode: true, highWaterMark: 1, write: () => {} });
  source.pipe(t).pipe(stalled);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(pulled < 400, `pulled ${pulled} of 10000 with the consumer stalled`);
  t.destroy();
  source.destroy();
  await assert.rejects(finished(t));
});
