import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline, finished } from 'node:stream/promises';
import { createSerializer } from '../../src/stages/serializer.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { isDspipeError } from '../../src/errors.js';
import type { IEntity } from '../../src/model/proto.js';
import { recordEvents } from './compliance.js';

function entity(i: number): IEntity {
  return {
    key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: '' }, path: [{ kind: 'K', id: String(i + 1) }] },
    properties: { s: { stringValue: `${i} ${'x'.repeat(i % 300)}` }, n: { integerValue: String(i) } },
  };
}

function sink(chunks: Buffer[]): Writable {
  return new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
}

test('entities and EntityResults become NDJSON lines; counts match', async () => {
  const entities = Array.from({ length: 3000 }, (_, i) => entity(i));
  const input = entities.map((e, i) => (i % 2 ? e : { entity: e, version: '1', cursor: Buffer.alloc(1) }));
  const chunks: Buffer[] = [];
  const s = createSerializer();
  const events = recordEvents(s);
  await pipeline(Readable.from(input), s, sink(chunks));
  const text = Buffer.concat(chunks).toString('utf8');
  assert.equal(text, entities.map((e) => encodeEntity(e) + '\n').join(''));
  assert.ok(chunks.length > 1, 'large input comes out in several chunks');
  assert.equal(s.entities, 3000);
  assert.equal(s.rawBytes, Buffer.byteLength(text));
  assert.deepEqual(Object.fromEntries(events), { finish: 1, end: 1, close: 1 });
});

test('empty input gives no bytes and ends', async () => {
  const chunks: Buffer[] = [];
  const s = createSerializer();
  await pipeline(Readable.from([]), s, sink(chunks));
  assert.equal(Buffer.concat(chunks).length, 0);
  assert.equal(s.entities, 0);
});

test('an entity the codec refuses rejects the pipeline once, naming the problem', async () => {
  const s = createSerializer();
  const events = recordEvents(s);
  await assert.rejects(pipeline(Readable.from([entity(1), { properties: {} }]), s, sink([])), (err) => isDspipeError(err) && /key/.test(err.message));
  assert.equal(events.get('error'), 1);
  assert.equal(events.get('close'), 1);
});

test('destroy mid-stream closes without error; finished() rejects with premature close', async () => {
  const s = createSerializer();
  const events = recordEvents(s);
  s.write(entity(1));
  const done = finished(s);
  s.destroy();
  await assert.rejects(done, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  assert.equal(events.get('close'), 1);
  assert.equal(events.get('error'), undefined);
});
