import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createKeyRewriter } from '../../src/stages/key-rewriter.js';
import type { IEntity } from '../../src/model/proto.js';
import { collect, recordEvents, tick } from './restore-stream-helpers.js';

const entity = (ns: string): IEntity => ({
  key: { partitionId: { projectId: 'src', databaseId: '', namespaceId: ns }, path: [{ kind: 'K', id: '1' }] },
  properties: { ref: { keyValue: { partitionId: { projectId: 'src', databaseId: '', namespaceId: ns }, path: [{ kind: 'R', name: 'r' }] } } },
});

test('keyRewriter moves keys and references, counts, and ends cleanly', async () => {
  const r = createKeyRewriter({ source: { projectId: 'src', databaseId: '' }, target: { projectId: 'dst', databaseId: 'db' }, namespaceMap: new Map([['a', 'b']]) });
  const events = recordEvents(r);
  const sink = collect<IEntity>();
  await pipeline(Readable.from([entity('a'), entity('c')]), r, sink);
  await tick();
  assert.equal(r.entities, 2);
  assert.deepEqual(sink.items.map((e) => e.key!.partitionId), [
    { projectId: 'dst', databaseId: 'db', namespaceId: 'b' },
    { projectId: 'dst', databaseId: 'db', namespaceId: 'c' },
  ]);
  assert.deepEqual(sink.items[0]!.properties!.ref!.keyValue!.partitionId, { projectId: 'dst', databaseId: 'db', namespaceId: 'b' });
  assert.deepEqual([events.get('end'), events.get('close'), events.get('error')], [1, 1, undefined]);
});

test('keyRewriter with nothing to rewrite passes the same objects', async () => {
  const r = createKeyRewriter({ source: { projectId: 'src', databaseId: '' }, target: { projectId: 'src', databaseId: '' } });
  const e = entity('a');
  const sink = collect<IEntity>();
  await pipeline(Readable.from([e]), r, sink);
  assert.equal(sink.items[0], e);
});

test('keyRewriter destroyed mid-stream rejects the pipeline', async () => {
  const r = createKeyRewriter({ target: { projectId: 'x', databaseId: '' } });
  const source = new Readable({ objectMode: true, read() {} });
  const p = pipeline(source, r, collect());
  source.push(entity('a'));
  await tick();
  r.destroy();
  await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
});
