import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createSelectionFilter } from '../../src/stages/selection-filter.js';
import { parseSelection } from '../../src/format/selection.js';
import type { IEntity } from '../../src/model/proto.js';
import { collect, recordEvents, tick } from './restore-stream-helpers.js';

const entity = (namespace: string, ...kinds: string[]): IEntity => ({
  key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: namespace }, path: kinds.map((kind, i) => ({ kind, id: String(i + 1) })) },
  properties: {},
});
const input = [entity('', 'User'), entity('a', 'User'), entity('', 'Order'), entity('', 'User', 'Order'), entity('b', 'Log'), entity('', 'Log')];
const selection = parseSelection({ namespaces: '(default),a', kinds: 'User,Order' });
const kept = [input[0], input[1], input[2], input[3]];

describe('selectionFilter', () => {
  test('keeps the selected namespaces and kinds (a key path\'s last kind) and counts both ways', async () => {
    const f = createSelectionFilter(selection);
    const sink = collect<IEntity>();
    await pipeline(Readable.from(input), f, sink);
    assert.deepEqual(sink.items, kept);
    assert.deepEqual([f.passed, f.dropped], [4, 2]);
  });

  test('an entity without a key is in the default namespace with kind ""', async () => {
    const sink = collect<IEntity>();
    await pipeline(Readable.from([{ properties: {} }]), createSelectionFilter(parseSelection({})), sink);
    assert.equal(sink.items.length, 1);
    const none = collect<IEntity>();
    await pipeline(Readable.from([{ properties: {} }]), createSelectionFilter(selection), none);
    assert.equal(none.items.length, 0);
  });

  test('input cut at every entity boundary gives the same output', async () => {
    for (let at = 0; at <= input.length; at++) {
      const source = new Readable({ objectMode: true, read() {} });
      const f = createSelectionFilter(selection);
      const sink = collect<IEntity>();
      const done = pipeline(source, f, sink);
      for (const e of input.slice(0, at)) source.push(e);
      await tick();
      for (const e of input.slice(at)) source.push(e);
      source.push(null);
      await done;
      assert.deepEqual(sink.items, kept, `cut at ${at}`);
    }
  });

  test('events on success and on an empty input: end, finish and close once, no error', async () => {
    for (const items of [input, []]) {
      const f = createSelectionFilter(selection);
      const events = recordEvents(f);
      const done = finished(f);
      await pipeline(Readable.from(items), f, collect());
      await done;
      await tick();
      assert.deepEqual([events.get('end'), events.get('finish'), events.get('close'), events.get('error')], [1, 1, 1, undefined]);
    }
  });

  test('an upstream error rejects pipeline() and finished(); the filter closes once', async () => {
    const f = createSelectionFilter(selection);
    const events = recordEvents(f);
    const done = finished(f);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, f, collect());
    source.push(input[0]);
    source.destroy(new Error('boom'));
    await assert.rejects(p, /boom/);
    await assert.rejects(done);
    await tick();
    assert.deepEqual([events.get('close'), events.get('end')], [1, undefined]);
  });

  test('backpressure: with no reader, writes report a full buffer', () => {
    const f = createSelectionFilter(parseSelection({}));
    let accepted = true;
    let n = 0;
    while (accepted && n < 10_000) accepted = f.write(entity('', 'User')), n++;
    assert.equal(accepted, false);
    assert.ok(n < 1000, `accepted ${n} entities with nobody reading`);
    f.destroy();
  });

  test('destroy mid-stream: close once, no error, pipeline rejects', async () => {
    const f = createSelectionFilter(selection);
    const events = recordEvents(f);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, f, collect());
    source.push(input[0]);
    await tick();
    f.destroy();
    await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.deepEqual([events.get('close'), events.get('error')], [1, undefined]);
  });
});
