/**
 * The byte scanner (line-transcoder.ts) against lineToMutation, the encoder
 * it stands in for: whatever line the scanner takes, lineToMutation takes
 * too and gives the same Mutation bytes, written key and source key; whatever
 * lineToMutation refuses, the scanner leaves to it (answers undefined), so
 * the refusal keeps lineToMutation's words. Over the codec corpus and random
 * entities, and over every one of a few lines cut at each byte and with each
 * byte replaced by one of the bytes JSON cares about (the malformed-line
 * corpus the restore path can meet).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEntity } from '../../../src/format/entity-codec.js';
import { lineToMutation, type MutationOp, type WireKeyRewrite } from '../../../src/format/wire/mutation.js';
import { lineBytesToMutation } from '../../../src/format/wire/line-transcoder.js';
import { CORNER_CASES, entity, nested, randomEntities } from '../../fixtures/codec-corpus.js';
import type { IEntity } from '../../../src/model/proto.js';

const REWRITES: Array<[string, WireKeyRewrite | undefined]> = [
  ['no key rewriting', undefined],
  ['to another project and database', { target: { projectId: 'other', databaseId: 'db2' } }],
  ['with the source named and a namespace map', { target: { projectId: 'proj', databaseId: 'db' }, source: { projectId: 'proj', databaseId: '' }, namespaceMap: new Map([['', 'moved'], ['ns', '']]) }],
  ['key values into the source project (source from each key)', { target: { projectId: 't', databaseId: '' }, namespaceMap: new Map([['ns', 'n2']]) }],
];

/** What lineToMutation does with the line: its result, or the error it throws. */
function slow(line: Buffer, op: MutationOp, rewrite: WireKeyRewrite | undefined) {
  try {
    return { ok: lineToMutation(line.toString('utf8'), op, rewrite) };
  } catch (err) {
    return { err };
  }
}

/**
 * The line, placed inside a larger buffer with a newline after it (as the
 * parser hands lines over): the scanner must keep to [from, end).
 */
function fast(line: Buffer, op: MutationOp, rewrite: WireKeyRewrite | undefined) {
  const framed = Buffer.concat([Buffer.from('{"x":1}\n'), line, Buffer.from('\n1234"}]')]);
  return lineBytesToMutation(framed, 8, 8 + line.length, op, rewrite);
}

/** The scanner takes the line only as lineToMutation does; returns whether it took it. */
function agree(line: Buffer, op: MutationOp, rewrite: WireKeyRewrite | undefined): boolean {
  const f = fast(line, op, rewrite);
  if (f === undefined) return false;
  const s = slow(line, op, rewrite);
  const what = line.toString('utf8').slice(0, 300);
  assert.ok(s.ok, `the scanner took a line lineToMutation refuses (${String((s.err as Error | undefined)?.message)}): ${what}`);
  assert.deepEqual(f.bytes, s.ok.bytes, what);
  assert.deepStrictEqual(f.key, s.ok.key, what);
  assert.deepStrictEqual(f.sourceKey, s.ok.sourceKey, what);
  return true;
}

function corpus(n: number, seed: number): IEntity[] {
  const out = CORNER_CASES.map(([, props]) => entity(props));
  out.push(entity({}), entity({ deep: nested(20) }));
  out.push(entity({ a: { stringValue: 'x' } }, { partitionId: { projectId: 'p', databaseId: 'db', namespaceId: 'ns' }, path: Array.from({ length: 100 }, (_, i) => ({ kind: `K${i}`, ...(i % 2 ? { name: `n${i}` } : { id: String(i + 1) }) })) }));
  const gen = randomEntities(seed);
  for (let e = 0; e < n; e++) out.push(gen.next(e));
  return out;
}

describe('dump lines dspipe writes', () => {
  const lines = corpus(3000, 31).map((e) => Buffer.from(encodeEntity(e)));
  for (const [name, rewrite] of REWRITES) {
    test(`${lines.length} lines, ${name}: the same bytes and keys as lineToMutation, nearly all on the scanner`, () => {
      let taken = 0;
      for (const line of lines) if (agree(line, 'upsert', rewrite)) taken++;
      // names with escapes or leading digits are left to lineToMutation; the rest is the scanner's
      assert.ok(taken >= lines.length * 0.9, `the scanner took only ${taken} of ${lines.length} lines`);
    });
  }

  test('insert and update mutations', () => {
    for (const line of lines.slice(0, 50)) for (const op of ['insert', 'update'] as const) assert.ok(agree(line, op, REWRITES[1]![1]) || true);
    assert.ok(agree(lines[5]!, 'insert', undefined) && agree(lines[5]!, 'update', undefined));
  });

  test('long strings and blobs, escapes, non-ASCII, lengths over one varint byte', () => {
    const big = entity({
      s: { stringValue: 'é'.repeat(70_000) + '"\\\n\t\u0000\u001f😀' },
      b: { blobValue: Buffer.alloc(200_000, 7), excludeFromIndexes: true, meaning: 16 },
      m: { stringValue: 'x'.repeat(130), meaning: -3 },
      arr: { arrayValue: { values: [{ stringValue: 'y'.repeat(300) }, { blobValue: Buffer.alloc(129, 1) }, { integerValue: '-9223372036854775808' }] } },
    });
    const line = Buffer.from(encodeEntity(big));
    for (const [, rewrite] of REWRITES) assert.ok(agree(line, 'upsert', rewrite));
  });
});

describe('lines dspipe does not write: valid ones agree or are left to lineToMutation, invalid ones are always left to it', () => {
  const k = '"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":""},"path":[{"kind":"K","id":"1"}]}';
  const handmade = [
    `{${k},"properties":{"a":{"integerValue":1}}}`,
    `{${k},"properties":{"a":{"blobValue":"abc"}}}`,
    `{${k},"properties":{"a":{"stringValue":"x","doubleValue":1}}}`,
    `{${k},"properties":{"a":{"timestampValue":"2020-01-01T00:00:00Z"},"b":{"keyValue":{"path":[]}}}}`,
    `{"key":{"partitionId":null,"path":[{"kind":"K","id":"1"}]}}`,
    `{"key":{"path":[{"kind":"K"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"1"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"01"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"0"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"9223372036854775808"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"9223372036854775807"}]}}`,
    `{"key":{"path":[{"kind":"K","name":""}]}}`,
    `{"key":{"path":[{"kind":"","name":"a"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"1","name":"a"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"1","kind":"L"}]}}`,
    `{"key":{"path":[{"id":"1","kind":"K"}]}}`,
    `{"key":{"path":[{"kind":"K","id":"1"}],"partitionId":{"projectId":"p"}}}`,
    `{"properties":{},${k}}`,
    `{${k},"properties":{"a":{"stringValue":"\\ud800"}}}`,
    `{${k},"properties":{"a":{"stringValue":"\\ud83d\\ude00 \\u00e9 \\u0041"}}}`,
    `{${k},"properties":{"a":{"stringValue":"\\udc00"}}}`,
    `{${k},"properties":{"a":{"stringValue":"\\x"}}}`,
    `{${k},"properties":{"a":{"stringValue":"x"},"a":{"stringValue":"y"}}}`,
    `{${k},"properties":{"b":{"stringValue":"x"},"a":{"stringValue":"y"}}}`,
    `{${k},"properties":{"10":{"stringValue":"x"},"9":{"stringValue":"y"},"a":{"nullValue":null}}}`,
    `{${k},"properties":{"":{"stringValue":"x"}}}`,
    `{${k},"properties":{"a":{"stringValue":"x","meaning":1.0}}}`,
    `{${k},"properties":{"a":{"stringValue":"x","meaning":1e2}}}`,
    `{${k},"properties":{"a":{"stringValue":"x","meaning":2147483648}}}`,
    `{${k},"properties":{"a":{"stringValue":"x","meaning":-2147483648}}}`,
    `{${k},"properties":{"a":{"stringValue":"x","meaning":-0}}}`,
    `{${k},"properties":{"a":{"meaning":7,"excludeFromIndexes":false,"stringValue":"x"}}}`,
    `{${k},"properties":{"a":{"excludeFromIndexes":true,"excludeFromIndexes":false,"stringValue":"x"}}}`,
    `{${k},"properties":{"a":{"doubleValue":-0},"b":{"doubleValue":1E+400},"c":{"doubleValue":"NaN"},"d":{"doubleValue":01}}}`,
    `{${k},"properties":{"a":{"doubleValue":1.},"b":{"doubleValue":.5}}}`,
    `{${k},"properties":{"a":{"doubleValue":-1.5e-7},"b":{"doubleValue":"-Infinity"}}}`,
    `{${k},"properties":{"a":{"nullValue":"NULL_VALUE"},"b":{"nullValue":0}}}`,
    `{${k},"properties":{"a":{"geoPointValue":{}},"b":{"geoPointValue":{"longitude":2,"latitude":1}}}}`,
    `{${k},"properties":{"a":{"geoPointValue":{"latitude":1,"latitude":2}}}}`,
    `{${k},"properties":{"a":{"arrayValue":{}},"b":{"arrayValue":{"values":[]}},"c":{"arrayValue":{"values":{}}}}}`,
    `{${k},"properties":{"a":{"entityValue":{}},"b":{"entityValue":{"properties":{"x":{"nullValue":null}},"key":{"path":[{"kind":"E"}]}}}}}`,
    `{${k},"properties":{"a":{"keyValue":{"partitionId":{"projectId":"p","namespaceId":"ns"},"path":[{"kind":"A","id":"3"},{"kind":"B"}]}}}}`,
    `{${k},"properties":{"a":{"keyValue":{"path":[{"kind":"A"},{"kind":"B","id":"2"}]}}}}`,
    `{${k},"properties":{"a":{"integerValue":"-0"},"b":{"integerValue":"007"},"c":{"integerValue":"-12"}}}`,
    `{${k},"properties":{"a":{"timestampValue":"2020-02-30T00:00:00.000000Z"}}}`,
    `{${k},"properties":{"a":{"timestampValue":"0001-01-01T00:00:00Z"},"b":{"timestampValue":"1970-01-01T00:00:00.000001Z"}}}`,
    `{${k},"properties":{"a":{"blobValue":"QQ=="},"b":{"blobValue":"QR=="},"c":{"blobValue":""}}}`,
    `{${k},"properties":{"a":{"arrayValue":{"values":[{"arrayValue":{"values":[{"nullValue":null}]}}]}}}}`,
    `{${k},"properties":{"a":{"stringValue":"x"}}} `,
    ` {${k}}`,
    `{${k} }`,
    `{${k},"properties":{"a":{"stringValue":"x"}},"extra":1}`,
    `{${k},"extra":1}`,
    `{${k}`,
    `[]`,
    `{}`,
    `null`,
  ].map((s) => Buffer.from(s));
  // raw bytes JSON.parse reads differently from what they are: a control character, bytes that are not UTF-8
  const kb = Buffer.from(`{${k},"properties":{"a":{"stringValue":"`);
  const end = Buffer.from('"}}}');
  for (const bad of [[0x01], [0x0a], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc3, 0xa9], [0xf0, 0x9f, 0x98, 0x80]]) handmade.push(Buffer.concat([kb, Buffer.from(bad), end]));
  const deepArrays = `{${k},"properties":{"a":${'{"arrayValue":{"values":['.repeat(200)}{"nullValue":null}${']}}'.repeat(200)}}}`;
  handmade.push(Buffer.from(deepArrays));
  // one entity level deeper than Datastore allows
  const deepest = encodeEntity(entity({ deep: nested(20) }));
  const props = deepest.slice(deepest.indexOf('"properties":') + 13, -1);
  handmade.push(Buffer.from(`{${k},"properties":{"x":{"entityValue":{"properties":${props}}}}}`));

  test(`${handmade.length} hand-made lines`, () => {
    for (const line of handmade) for (const [, rewrite] of REWRITES) agree(line, 'upsert', rewrite);
  });

  test('a line lineToMutation refuses is never taken by the scanner', () => {
    let refused = 0;
    for (const line of handmade) {
      if (slow(line, 'upsert', undefined).err !== undefined) {
        refused++;
        assert.equal(fast(line, 'upsert', undefined), undefined, line.toString('utf8'));
      }
    }
    assert.ok(refused > 20, `only ${refused} of the hand-made lines are refused`);
  });

  const seeds = corpus(40, 7).map((e) => Buffer.from(encodeEntity(e)));
  const sample = [seeds[0]!, seeds[3]!, seeds[9]!, ...seeds.slice(-6)];
  test(`${sample.length} lines cut at every byte`, () => {
    for (const line of sample) for (let cut = 0; cut < line.length; cut++) agree(line.subarray(0, cut), 'upsert', REWRITES[2]![1]);
  });

  test(`${sample.length} lines with each byte replaced by a byte JSON cares about`, () => {
    const bytes = Buffer.from('"\\{}[]:,0-19.eE +tfnu\u007f').toJSON().data.concat([0x00, 0x09, 0x80, 0xc3, 0xff]);
    let taken = 0;
    for (const line of sample) {
      const copy = Buffer.from(line);
      for (let i = 0; i < line.length; i++) {
        for (const b of bytes) {
          if (b === line[i]) continue;
          copy[i] = b;
          if (agree(copy, 'upsert', REWRITES[3]![1])) taken++;
        }
        copy[i] = line[i]!;
      }
    }
    // many replacements keep the line valid (a digit for a digit, a letter in a string): those the scanner still takes
    assert.ok(taken > 1000, `the scanner took ${taken} of the changed lines`);
  });
});
