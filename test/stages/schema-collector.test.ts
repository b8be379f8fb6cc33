import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSchemaCollector } from '../../src/stages/schema-collector.js';
import { SchemaAccumulator } from '../../src/format/schema.js';

const entity = (i: number) => ({ key: { path: [{ kind: 'K', id: String(i + 1) }] }, properties: { v: i % 2 ? { stringValue: 's' } : { integerValue: '1' } } });

test('accepts entities and EntityResults; shares an accumulator; files under the given kind', async () => {
  const acc = new SchemaAccumulator();
  const a = createSchemaCollector({ accumulator: acc, namespace: 'ns', kind: 'Kind' });
  await pipeline(Readable.from([entity(0), { entity: entity(1), version: '1' }, entity(2)]), a);
  const b = createSchemaCollector({ accumulator: acc, namespace: '', kind: 'Empty' });
  await pipeline(Readable.from([]), b);
  assert.equal(a.entities, 3);
  assert.deepEqual(acc.result().map((k) => [k.namespace, k.kind, k.entities]), [['', 'Empty', 0], ['ns', 'Kind', 3]]);
  assert.deepEqual(acc.result()[1]!.properties.v!.types, { integer: 2, string: 1 });
});

test('an upstream failure rejects pipeline() and leaves what was counted', async () => {
  const c = createSchemaCollector();
  const failing = new Transform({ objectMode: true, transform(chunk: { key: { path: [{ id: string }] } }, _e, cb) { cb(chunk.key.path[0].id === '3' ? new Error('upstream') : null, chunk); } });
  await assert.rejects(pipeline(Readable.from([entity(0), entity(1), entity(2), entity(3)]), failing, c), /upstream/);
  assert.equal(c.entities, 2);
  assert.equal(c.destroyed, true);
});
