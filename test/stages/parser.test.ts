import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createParser } from '../../src/stages/parser.js';
import { createWireParser } from '../../src/stages/wire-parser.js';
import { parseSelection } from '../../src/format/selection.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { isDspipeError } from '../../src/errors.js';
import type { IEntity } from '../../src/model/proto.js';
import { MAX_ENTITY_BYTES, MAX_LINE_BYTES } from '../../src/model/limits.js';
import { chunked, collect, recordEvents, tick } from './restore-stream-helpers.js';

const entity = (i: number): IEntity => ({
  key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: 'ns' }, path: [{ kind: 'K', id: String(i + 1) }] },
  properties: { s: { stringValue: `héllo 東京 🎉 ${i}` }, n: { integerValue: String(i) } },
});
const lines = Array.from({ length: 5 }, (_, i) => encodeEntity(entity(i)));
const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));

async function parse(input: Readable, file = 'k.ndjson'): Promise<string[]> {
  const sink = collect<IEntity>();
  await pipeline(input, createParser({ file }), sink);
  return sink.items.map(encodeEntity);
}

describe('parser', () => {
  test('decodes every line; counts lines, entities and bytes', async () => {
    const p = createParser();
    const sink = collect<IEntity>();
    await pipeline(Readable.from([data]), p, sink);
    assert.deepEqual(sink.items.map(encodeEntity), lines);
    assert.deepEqual([p.lines, p.entities, p.bytes], [5, 5, data.length]);
  });

  test('input cut at every byte boundary, inside UTF-8 characters too', async () => {
    for (let cut = 0; cut <= data.length; cut++) assert.deepEqual(await parse(chunked(data, [cut])), lines, `cut at ${cut}`);
    assert.deepEqual(await parse(chunked(data, Array.from({ length: data.length }, (_, i) => i))), lines);
  });

  test('a last line without newline, CRLF, blank lines (numbered all the same)', async () => {
    assert.deepEqual(await parse(Readable.from([Buffer.from(lines.join('\n'))])), lines);
    assert.deepEqual(await parse(Readable.from([Buffer.from(lines.map((l) => `${l}\r\n`).join(''))])), lines);
    const withBlank = Buffer.from(`${lines[0]}\n\n${lines[1]}\n{oops\n`);
    await assert.rejects(parse(Readable.from([withBlank]), 'x.ndjson'), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_LINE') && err.line === 4 && err.file === 'x.ndjson');
  });

  test('a bad line: pipeline and finished reject naming file and line; error and close once, no end', async () => {
    const p = createParser({ file: 'bad.ndjson' });
    const events = recordEvents(p);
    const done = finished(p);
    const bad = Buffer.from(`${lines[0]}\n${lines[1]}\n{"key":{"path":[]},"properties":{}}\n${lines[2]}\n`);
    await assert.rejects(pipeline(Readable.from([bad]), p, collect()), (err: unknown) => isDspipeError(err) && err.file === 'bad.ndjson' && err.line === 3);
    await assert.rejects(done);
    await tick();
    assert.deepEqual([events.get('error'), events.get('close'), events.get('end')], [1, 1, undefined]);
  });

  test('a line cut short at the end of input is an error on that line', async () => {
    const cut = data.subarray(0, data.length - 10);
    await assert.rejects(parse(Readable.from([cut])), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_LINE') && err.line === 5);
  });

  test('events on success', async () => {
    const p = createParser();
    const events = recordEvents(p);
    await pipeline(Readable.from([data]), p, collect());
    await tick();
    assert.deepEqual([events.get('end'), events.get('finish'), events.get('close'), events.get('error')], [1, 1, 1, undefined]);
  });

  test('backpressure: without a reader, writes report a full buffer and parsing stops', () => {
    const p = createParser();
    const many = Buffer.from(Array.from({ length: 2000 }, (_, i) => `${encodeEntity(entity(i))}\n`).join(''));
    let accepted = true;
    let writes = 0;
    for (let off = 0; off < many.length && accepted; off += 4096, writes++) accepted = p.write(many.subarray(off, off + 4096));
    assert.equal(accepted, false);
    assert.ok(p.entities < 2000, `parsed ${p.entities} of 2000 with nobody reading`);
    p.destroy();
  });

  test('destroy mid-stream: close once, no error, pipeline rejects', async () => {
    const p = createParser();
    const events = recordEvents(p);
    const source = new Readable({ read() {} });
    const done = pipeline(source, p, collect());
    source.push(data.subarray(0, 50));
    await tick();
    p.destroy();
    await assert.rejects(done, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await tick();
    assert.deepEqual([events.get('close'), events.get('error')], [1, undefined]);
  });
});

test('a line longer than MAX_LINE_BYTES fails as soon as it is seen, naming file and line, without quoting it', async () => {
  let pulled = 0;
  const chunk = Buffer.alloc(1 << 20, 0x41);
  const endless = Readable.from((function* () {
    yield Buffer.from(`${lines[0]}\n`);
    for (pulled = 0; pulled < 200; pulled++) yield chunk;
  })());
  const err = await parse(endless, 'bomb.ndjson').then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_INVALID_LINE'), String(err));
  assert.equal(err.file, 'bomb.ndjson');
  assert.equal(err.line, 2);
  assert.match(err.message, new RegExp(`line 2 is longer than ${MAX_LINE_BYTES} bytes`));
  assert.doesNotMatch(err.message, /AAAA/);
  assert.ok(pulled * chunk.length <= MAX_LINE_BYTES + 2 * chunk.length, `read ${pulled} MiB before refusing`);
});

test('the limit is what a 1 MiB entity of the worst values needs, and such an entity\'s line passes', async () => {
  // 1 MiB of storage as unindexed booleans in an array: the most JSON per byte of storage.
  const values = Array.from({ length: MAX_ENTITY_BYTES - 200 }, () => ({ booleanValue: false, excludeFromIndexes: true }));
  const big: IEntity = { key: entity(0).key, properties: { flags: { arrayValue: { values } } } };
  const line = encodeEntity(big);
  assert.ok(line.length > 40 * MAX_ENTITY_BYTES && line.length < MAX_LINE_BYTES, `${line.length} bytes`);
  assert.deepEqual(await parse(Readable.from([Buffer.from(`${line}\n`)])), [line]);
  const tiny = createParser({ maxLineBytes: 10 });
  await assert.rejects(pipeline(Readable.from([Buffer.from(`${lines[0]}\n`)]), tiny, collect()), (e: unknown) => isDspipeError(e, 'DSPIPE_INVALID_LINE') && e.line === 1);
});

test('an undecodable line\'s error does not echo the file\'s bytes', async () => {
  const err = await parse(Readable.from([Buffer.from('root:x:0:0:root:/root:/bin/bash\n')]), 'passwd').then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_INVALID_LINE'), String(err));
  assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /root|bash/);
  assert.match(err.message, /invalid JSON/);
});

test('selection and countKinds: lines of other namespaces or kinds dropped (counted), the rest counted per namespace and kind, on both parsers', async () => {
  const mixed = (ns: string, kind: string, id: number): string => encodeEntity({ key: { partitionId: { projectId: 'p', databaseId: '', namespaceId: ns }, path: [{ kind, id: String(id) }] } });
  const input = Buffer.from([mixed('', 'A', 1), mixed('b', 'A', 2), mixed('', 'B', 3), mixed('b', 'A', 4), mixed('c', 'A', 5), mixed('', 'A', 6)].map((l) => `${l}\n`).join(''));
  const selection = parseSelection({ namespaces: ['(default)', 'b'], kinds: ['A'] });
  for (const p of [createParser({ selection, countKinds: true }), createWireParser({ op: 'upsert', selection, countKinds: true })]) {
    const sink = collect<unknown>();
    await pipeline(Readable.from([input]), p, sink);
    assert.equal(sink.items.length, 4);
    assert.deepEqual([p.lines, p.entities, p.dropped], [6, 4, 2]);
    assert.deepEqual(p.kinds, [{ namespace: '', kind: 'A', entities: 2 }, { namespace: 'b', kind: 'A', entities: 2 }]);
  }
  const plain = createParser();
  await pipeline(Readable.from([input]), plain, collect<IEntity>());
  assert.deepEqual([plain.entities, plain.dropped, plain.kinds], [6, 0, []], 'neither asked for: all lines, nothing counted per kind');
});
