import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createParser } from '../../src/stages/parser.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { isDspipeError } from '../../src/errors.js';
import type { IEntity } from '../../src/model/proto.js';
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
