import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createEntityCounter } from '../../src/stages/entity-counter.js';
import type { IEntity } from '../../src/model/proto.js';
import { recordEvents, tick } from './restore-stream-helpers.js';

const entities = (n: number): IEntity[] => Array.from({ length: n }, (_, i) => ({ key: { path: [{ kind: 'K', id: String(i + 1) }] }, properties: {} }));

describe('entityCounter', () => {
  test('counts every entity; finish and close once, no error, no end', async () => {
    const c = createEntityCounter();
    const events = recordEvents(c);
    const done = finished(c);
    await pipeline(Readable.from(entities(1000)), c);
    await done;
    await tick();
    assert.equal(c.count, 1000);
    assert.deepEqual([events.get('finish'), events.get('close'), events.get('error'), events.get('end')], [1, 1, undefined, undefined]);
  });

  test('an empty input counts 0', async () => {
    const c = createEntityCounter();
    await pipeline(Readable.from([]), c);
    assert.equal(c.count, 0);
  });

  test('input cut at every boundary, with writes held back (_writev), counts the same', async () => {
    const all = entities(12);
    for (let at = 0; at <= all.length; at++) {
      const c = createEntityCounter();
      c.cork();
      for (const e of all.slice(0, at)) c.write(e);
      process.nextTick(() => c.uncork());
      await tick();
      for (const e of all.slice(at)) c.write(e);
      c.end();
      await finished(c);
      assert.equal(c.count, all.length, `cut at ${at}`);
    }
  });

  test('an upstream error rejects pipeline() and finished(); the counter closes once, no finish', async () => {
    const c = createEntityCounter();
    const events = recordEvents(c);
    const done = finished(c);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, c);
    source.push(entities(1)[0]);
    source.destroy(new Error('boom'));
    await assert.rejects(p, /boom/);
    await assert.rejects(done);
    await tick();
    assert.deepEqual([events.get('close'), events.get('finish')], [1, undefined]);
  });

  test('destroy mid-stream: close once, no error, pipeline rejects', async () => {
    const c = createEntityCounter();
    const events = recordEvents(c);
    const source = new Readable({ objectMode: true, read() {} });
    const p = pipeline(source, c);
    source.push(entities(1)[0]);
    await tick();
    c.destroy();
    await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.equal(c.count, 1);
    assert.deepEqual([events.get('close'), events.get('error'), events.get('finish')], [1, undefined, undefined]);
  });
});
