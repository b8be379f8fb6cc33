/**
 * The wire parser stage: lines split at any chunk boundary (CRLF too) become
 * WriteOps whose Mutation bytes are lineToMutation's, whether the byte
 * scanner took the line or left it to lineToMutation (`slow` counts those);
 * a bad line fails with the object parser's error, word for word.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWireParser } from '../../src/stages/wire-parser.js';
import { createParser } from '../../src/stages/parser.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { lineToMutation, type WireKeyRewrite } from '../../src/format/wire/mutation.js';
import type { WriteOp } from '../../src/format/batching.js';
import { randomEntities } from '../fixtures/codec-corpus.js';
import { chunked, collect } from './restore-stream-helpers.js';

const gen = randomEntities(5);
const lines = Array.from({ length: 40 }, (_, i) => encodeEntity(gen.next(i)));
// valid, but not as dspipe writes it (spaces): left to lineToMutation
const spaced = '{ "key": {"path": [{"kind": "S", "id": "9"}]}, "properties": {"a": {"stringValue": "b"}} }';
const all = [...lines.slice(0, 20), spaced, ...lines.slice(20)];
const rewrite: WireKeyRewrite = { target: { projectId: 'moved', databaseId: 'd' } };

async function run(input: Readable, file = 'in.ndjson') {
  const parser = createWireParser({ file, op: 'upsert', rewrite });
  const sink = collect<WriteOp>();
  await pipeline(input, parser, sink);
  return { parser, ops: sink.items };
}

describe('wireParser', () => {
  test('lines cut at any chunk boundary, LF and CRLF: the Mutations lineToMutation writes, the odd line decoded from its text', async () => {
    const expected = all.map((l) => lineToMutation(l, 'upsert', rewrite));
    for (const eol of ['\n', '\r\n']) {
      const data = Buffer.from(all.join(eol) + eol);
      for (const cuts of [[], [1], [100, 101, 102], Array.from({ length: 60 }, (_, i) => Math.floor((data.length * (i + 1)) / 61))]) {
        const { parser, ops } = await run(chunked(data, cuts));
        assert.equal(ops.length, all.length);
        ops.forEach((op, i) => {
          assert.deepEqual(op.wire, expected[i]!.bytes, `line ${i + 1}`);
          assert.deepStrictEqual(op.key, expected[i]!.key);
        });
        assert.equal(parser.slow, 1, 'only the spaced line went the slow way');
        assert.equal(parser.entities, all.length);
      }
    }
  });

  test('a bad line fails with the object parser\'s error: same code, message, file, line and fields', async () => {
    const bad = [
      '{"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":""},"path":[{"kind":"K","id":"1"}]},"properties":{"a":{"integerValue":1}}}',
      '{"key":{"path":[]},"properties":{}}',
      '{"key":{"path":[{"kind":"K","id":"1"}]},"properties":{"a":{"stringValue":"\\ud800"}}}',
      '{"key":{"path":[{"kind":"K","id":"1"}]},"properties":{"a":{"stringValue":"x"}},"more":1}',
      '{"key":{"path":[{"kind":"K","id":"1"}]}',
    ];
    for (const line of bad) {
      const data = Buffer.from(`${lines[0]}\n${lines[1]}\n${line}\n${lines[2]}\n`);
      const failure = async (stage: NodeJS.ReadWriteStream) => {
        try {
          await pipeline(Readable.from([data]), stage, collect());
        } catch (err) {
          return err as Error;
        }
        assert.fail(`accepted: ${line}`);
      };
      const expected = await failure(createParser({ file: 'bad.ndjson' }));
      const actual = await failure(createWireParser({ file: 'bad.ndjson', op: 'upsert' }));
      assert.equal(actual.message, expected.message, line);
      assert.deepEqual({ ...actual }, { ...expected }, line);
      assert.equal((actual as { line?: number }).line, 3);
    }
  });
});
