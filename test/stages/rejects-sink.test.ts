import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRejectsSink, formatReject, type Reject } from '../../src/stages/rejects-sink.js';
import { DspipeError, isDspipeError } from '../../src/errors.js';
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import type { IEntity } from '../../src/model/proto.js';
import { recordEvents, tick } from './restore-stream-helpers.js';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'dspipe-rejects-'))));
after(() => rm(dir, { recursive: true, force: true }));

const entity = (i: number): IEntity => ({
  key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: 'ns' }, path: [{ kind: 'Big', id: String(i) }] },
  properties: { s: { stringValue: 'x'.repeat(200) } },
});
const reject = (i: number): Reject => ({
  op: { op: 'upsert', entity: entity(i) },
  error: new DspipeError('DSPIPE_REJECTED_ENTITY', `too long ${i}`, { key: `Big:${i}` }),
  namespace: 'ns',
  kind: 'Big',
});
const rejects = Array.from({ length: 8 }, (_, i) => reject(i + 1));
const expected = rejects.map(formatReject).join('');
let n = 0;
const fresh = async () => {
  const sub = join(dir, `case-${++n}`);
  await mkdir(sub);
  return sub;
};

describe('rejectsSink', () => {
  test('one line per reject: the error, where it came from, and the entity as the dump writes it', async () => {
    const sub = await fresh();
    const sink = createRejectsSink(join(sub, 'rejects.ndjson'));
    await pipeline(Readable.from(rejects), sink);
    assert.equal(sink.count, 8);
    assert.equal(sink.file, join(sub, 'rejects.ndjson'));
    const lines = (await readFile(sink.file!, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 8);
    const first = JSON.parse(lines[0]!) as { error: unknown; namespace: string; kind: string; entity: unknown };
    assert.deepEqual(first.error, { code: 'DSPIPE_REJECTED_ENTITY', message: 'too long 1', key: 'Big:1' });
    assert.deepEqual([first.namespace, first.kind], ['ns', 'Big']);
    assert.equal(encodeEntity(decodeEntity(JSON.stringify(first.entity))), encodeEntity(entity(1)));
    assert.deepEqual(await readdir(sub), ['rejects.ndjson']);
  });

  test('a delete (key only) is written with its key and no properties', () => {
    const key = entity(9).key!;
    const line = JSON.parse(formatReject({ ...reject(9), op: { op: 'delete', key } })) as { entity: { key: unknown; properties: unknown } };
    assert.deepEqual(line.entity.properties, {});
    assert.equal((line.entity.key as { path: Array<{ id: string }> }).path[0]!.id, '9');
  });

  test('no rejects: no file, no temp file; finish and close once', async () => {
    const sub = await fresh();
    const sink = createRejectsSink(join(sub, 'rejects.ndjson'));
    const events = recordEvents(sink);
    await pipeline(Readable.from([]), sink);
    await tick();
    assert.equal(sink.file, undefined);
    assert.deepEqual(await readdir(sub), []);
    assert.deepEqual([events.get('finish'), events.get('close'), events.get('error')], [1, 1, undefined]);
  });

  test('the file appears only when the sink finishes; until then only a temp file exists', async () => {
    const sub = await fresh();
    const path = join(sub, 'rejects.ndjson');
    await writeFile(path, 'an older run');
    const sink = createRejectsSink(path);
    await sink.add(rejects[0]!);
    await sink.add(rejects[1]!);
    await tick();
    assert.equal(await readFile(path, 'utf8'), 'an older run');
    assert.equal((await readdir(sub)).length, 2, 'target and temp file');
    assert.equal(sink.file, undefined);
    sink.end();
    await finished(sink);
    assert.equal(await readFile(path, 'utf8'), rejects.slice(0, 2).map(formatReject).join(''));
    assert.deepEqual(await readdir(sub), ['rejects.ndjson']);
  });

  test('input cut at every boundary (writes from several kinds at once) gives the same file', async () => {
    for (let at = 0; at <= rejects.length; at++) {
      const sub = await fresh();
      const sink = createRejectsSink(join(sub, 'r.ndjson'));
      // As several kinds' writers do: many adds in flight at once, then more after a pause.
      await Promise.all(rejects.slice(0, at).map((r) => sink.add(r)));
      await tick();
      await Promise.all(rejects.slice(at).map((r) => sink.add(r)));
      sink.end();
      await finished(sink);
      assert.equal(await readFile(join(sub, 'r.ndjson'), 'utf8'), expected, `cut at ${at}`);
      assert.equal(sink.count, rejects.length);
    }
  });

  test('destroy mid-stream removes the temp file and leaves no target; close once, no finish', async () => {
    const sub = await fresh();
    const sink = createRejectsSink(join(sub, 'rejects.ndjson'));
    const events = recordEvents(sink);
    await sink.add(rejects[0]!);
    assert.equal((await readdir(sub)).length, 1, 'temp file exists while writing');
    sink.destroy();
    await new Promise((resolve) => sink.once('close', resolve));
    assert.deepEqual(await readdir(sub), []);
    assert.equal(sink.file, undefined);
    assert.deepEqual([events.get('close'), events.get('finish'), events.get('error')], [1, undefined, undefined]);
    await assert.rejects(sink.add(rejects[1]!), { code: 'ERR_STREAM_DESTROYED' });
  });

  test('an upstream error rejects pipeline() and finished() and cleans up', async () => {
    const sub = await fresh();
    const sink = createRejectsSink(join(sub, 'rejects.ndjson'));
    const done = finished(sink);
    let i = 0;
    const source = new Readable({
      objectMode: true,
      read() {
        if (i < 3) this.push(rejects[i++]);
        else this.destroy(new Error('upstream failed'));
      },
    });
    await assert.rejects(pipeline(source, sink), /upstream failed/);
    await assert.rejects(done);
    // The sink closes once its temp file is gone.
    if (!sink.closed) await once(sink, 'close');
    assert.deepEqual(await readdir(sub), []);
  });

  test('a file that cannot be created is a DSPIPE_IO error naming it: pipeline() and add() reject, error once', async () => {
    const sub = await fresh();
    await writeFile(join(sub, 'blocker'), 'a file, not a folder');
    const sink = createRejectsSink(join(sub, 'blocker', 'rejects.ndjson'));
    const events = recordEvents(sink);
    await assert.rejects(pipeline(Readable.from(rejects), sink), (err) => isDspipeError(err, 'DSPIPE_IO') && /blocker/.test(err.file!));
    if (!sink.closed) await once(sink, 'close');
    await tick();
    assert.deepEqual([events.get('error'), events.get('close'), events.get('finish')], [1, 1, undefined]);
    // Outside a pipeline (as restore uses it): the add that met the failure rejects with it, and so does finished().
    const again = createRejectsSink(join(sub, 'blocker', 'rejects.ndjson'));
    const done = finished(again);
    await assert.rejects(again.add(rejects[0]!), (err) => isDspipeError(err, 'DSPIPE_IO'));
    await assert.rejects(done, (err) => isDspipeError(err, 'DSPIPE_IO'));
  });
});
