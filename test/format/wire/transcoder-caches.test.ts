/**
 * What the RunQuery transcoder keeps from entity to entity (and from page to
 * page) must never leak into the next one: a key's partition text, a kind's
 * text, each position's property name, its sort order. And what it writes
 * without strings (digits, timestamps, base64, UTF-8 checked while copying)
 * must be what the object path writes. Every case is compared with the
 * object path: proto-loader's decoding (as the client library does it) plus
 * encodeEntity.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { encodeEntity } from '../../../src/format/entity-codec.js';
import { runQueryResponseToLines } from '../../../src/format/wire/run-query-lines.js';
import { isDspipeError } from '../../../src/errors.js';
import type { IEntity, IValue } from '../../../src/model/proto.js';

const require = createRequire(import.meta.url);
function packageRoot(name: string, entry: string): string {
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return join(dir, entry);
}
const definition = protoLoader.loadSync('google/datastore/v1/datastore.proto', {
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [packageRoot('google-gax', 'build/protos'), packageRoot('@google-cloud/datastore', 'build/protos')],
});
type Codec = protoLoader.MessageTypeDefinition<object, object>;
const RunQueryResponse = definition['google.datastore.v1.RunQueryResponse'] as Codec;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

const objectLines = (bytes: Buffer): string =>
  (RunQueryResponse.deserialize(bytes) as Loose).batch.entityResults.map((r: Loose) => encodeEntity(r.entity) + '\n').join('');

const page = (entities: IEntity[]): Buffer =>
  RunQueryResponse.serialize({ batch: { entityResults: entities.map((entity) => ({ entity })), moreResults: 'NOT_FINISHED' } });

/**
 * The fast path's lines for bytes, checked equal byte for byte to the object
 * path's (as bytes: decoding the fast path's output first would hide invalid
 * UTF-8 it let through); returns them.
 */
function same(bytes: Buffer, what: string): string {
  const fast = runQueryResponseToLines(bytes).lines;
  const object = objectLines(bytes);
  if (!fast.equals(Buffer.from(object, 'utf8'))) assert.equal(fast.toString('latin1'), Buffer.from(object, 'utf8').toString('latin1'), what);
  return fast.toString('utf8');
}

const key = (partitionId: object | undefined, kind = 'K', id: string | { name: string } = '1'): object => ({
  ...(partitionId && { partitionId }),
  path: [typeof id === 'string' ? { kind, id } : { kind, name: id.name }],
});
const e = (properties: Record<string, IValue>, k: object = key({ projectId: 'p' })): IEntity => ({ key: k, properties }) as IEntity;

describe('caches of the RunQuery transcoder', () => {
  test('a key\'s partition changes from key to key, within a page and across pages', () => {
    const partitions = [
      { projectId: 'p' },
      { projectId: 'p', databaseId: 'db' },
      { projectId: 'p', namespaceId: 'ns' },
      { projectId: 'p', databaseId: 'db', namespaceId: 'ns' },
      undefined,
      { projectId: 'q' },
      { projectId: 'p' },
      { projectId: 'pä', namespaceId: '東京' },
      { projectId: 'p', databaseId: 'dc' },
      { projectId: 'p', databaseId: 'db', namespaceId: 'ns' },
    ];
    // more partitions than the cache holds, in an order that makes each one leave and come back
    const entities = [...partitions, ...partitions.slice().reverse(), ...partitions].map((p, i) =>
      e({ ref: { keyValue: key(partitions[(i * 3) % partitions.length], 'Ref', String(i + 1)) as Loose } }, key(p, 'K', String(i + 1))),
    );
    same(page(entities), 'one page');
    for (const ent of entities) same(page([ent]), 'a page each');
  });

  test('kinds change along the path and from key to key', () => {
    const kinds = ['A', 'B', 'AB', 'BA', 'Ä', '東京', 'K1', 'K2', 'K3', 'K4', 'A', 'Ä', 'x'.repeat(1500)];
    const entities = kinds.map((kind, i) =>
      e({ a: { integerValue: '1' } }, { partitionId: { projectId: 'p' }, path: [{ kind, id: String(i + 1) }, { kind: kinds[(i + 5) % kinds.length]!, name: kind }] }),
    );
    same(page(entities), 'kinds');
  });

  test('property names change at one position, in length or in one byte only, and come back', () => {
    const shape = (names: string[]) => e(Object.fromEntries(names.map((n, i) => [n, { integerValue: String(i) }])));
    const base = ['alpha', 'beta', 'gamma', 'delta2'];
    const variants = [
      base,
      ['alpha', 'betb', 'gamma', 'delta2'], // one byte differs: still sorted
      ['alpha', 'beta', 'gamma', 'delta2'],
      ['alpha', 'zeta', 'gamma', 'delta2'], // now unsorted at position 1
      ['alpha', 'beta', 'gamma'], // fewer
      ['alpha', 'beta', 'gamma', 'delta2', 'epsilon'], // more
      ['alpha', 'beta', 'gamma', 'delta2'],
      ['alph', 'beta', 'gamma', 'delta2'], // shorter name
      ['alphaa', 'beta', 'gamma', 'delta2'],
    ];
    same(page(variants.map(shape)), 'one page');
    for (const v of variants) same(page([shape(v)]), v.join());
  });

  test('non-ASCII names: UTF-8 order differs from UTF-16 order, and names that repeat as one kind would', () => {
    const names = ['z', 'ä', '😀', '\uFFFF', '東京', 'a', 'Ä', 'é', 'e\u0301'];
    const entities: IEntity[] = [];
    for (let i = 0; i < 20; i++) {
      const rotated = names.slice(i % names.length).concat(names.slice(0, i % names.length));
      entities.push(e(Object.fromEntries(rotated.map((n, j) => [n, { stringValue: n + j }]))));
      entities.push(e(Object.fromEntries(names.map((n, j) => [n, { stringValue: n + j }]))));
    }
    const lines = same(page(entities), 'non-ASCII names');
    assert.match(lines, /"\uFFFF":.*"😀":/, 'UTF-8 order: U+FFFF before U+1F600');
  });

  test('an unsorted shape repeated (its order is kept), then the same count of names in another order', () => {
    const a = e({ c: { integerValue: '1' }, a: { integerValue: '2' }, b: { integerValue: '3' } });
    const b = e({ b: { integerValue: '1' }, c: { integerValue: '2' }, a: { integerValue: '3' } });
    const c = e({ c: { integerValue: '1' }, x: { integerValue: '2' }, b: { integerValue: '3' } });
    const sorted = e({ a: { integerValue: '1' }, b: { integerValue: '2' }, c: { integerValue: '3' } });
    same(page([a, a, a, b, b, a, c, c, sorted, a, sorted]), 'orders');
  });

  test('nested entities: the scratch of each depth, entity values in arrays, shapes changing with depth', () => {
    const inner = (names: string[]): IValue => ({ entityValue: { properties: Object.fromEntries(names.map((n, i) => [n, i % 2 ? { stringValue: n } : inner(names.slice(1))])) } });
    const entities = [
      e({ x: inner(['b', 'a', 'c']), y: { arrayValue: { values: [inner(['q', 'p']), inner(['p', 'q', 'r']), inner([])] } } }),
      e({ x: inner(['a', 'b']), y: { arrayValue: { values: [inner(['p']), inner(['r', 'q', 'p'])] } } }),
      e({ x: inner(['b', 'a', 'c']), y: { arrayValue: { values: [inner(['q', 'p']), inner(['p', 'q', 'r']), inner([])] } } }),
    ];
    same(page(entities), 'nested');
  });

  test('a name sent twice in one entity, in a shape seen before (the last copy wins)', () => {
    // protobufjs writes a map once per key, so the repeated entry is appended by hand to the entity's bytes
    const withRepeat = (v: string) => {
      const bytes = page([e({ a: { integerValue: '1' }, b: { integerValue: '2' } })]);
      const entry = Buffer.concat([Buffer.from([0x1a, 5 + v.length, 0x0a, 1, 0x61, 0x12, v.length]), Buffer.from(v, 'latin1')]);
      return rewrap(bytes, entry);
    };
    // a = integerValue 3 (0x10 0x03), then a = stringValue "s"
    for (const value of ['\x10\x03', '\x8a\x01\x01s']) {
      same(withRepeat(value), 'repeat ' + JSON.stringify(value));
      same(withRepeat(value), 'again');
    }
  });
});

describe('values written without strings', () => {
  test('integers around 2^31, 2^49, 2^53 and the int64 extremes, both signs', () => {
    const ints: string[] = ['0', '1', '9', '10', '99', '100', '2147483647', '2147483648', '4294967295', '4294967296', '562949953421311', '562949953421312'];
    for (const p of [53, 56, 62, 63]) for (const d of [-1n, 0n, 1n]) ints.push(String(2n ** BigInt(p) + d));
    const all = [...ints, ...ints.map((s) => '-' + s)].filter((s) => BigInt(s) <= 2n ** 63n - 1n && BigInt(s) >= -(2n ** 63n) && s !== '-0');
    const props = Object.fromEntries(all.map((s, i) => [`i${String(i).padStart(3, '0')}`, { integerValue: s, ...(i % 7 === 0 && { meaning: i }) }]));
    const lines = same(page([e(props)]), 'integers');
    for (const s of all) assert.ok(lines.includes(`{"integerValue":"${s}"`), s);
  });

  test('ids up to 2^63 - 1 and the ids that are refused', () => {
    const ids = ['1', '127', '128', '562949953421311', '562949953421312', '9007199254740993', '9223372036854775807'];
    same(page(ids.map((id) => e({}, key({ projectId: 'p' }, 'K', id)))), 'ids');
    for (const id of ['0', '-1', '-9223372036854775808']) {
      assert.throws(() => runQueryResponseToLines(page([e({}, key({ projectId: 'p' }, 'K', id))])), (err) => isDspipeError(err, 'DSPIPE_REJECTED_ENTITY') && new RegExp(`id ${id} is invalid`).test((err as Error).message));
    }
  });

  test('doubles that are whole numbers, near them and past 2^53', () => {
    const ds = [1, -1, 2, -2, 10, 100, 1e15, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 60, 1e21, 1e22, -1e21, 0.5, -0.5, 1.5, 1 - 2 ** -53, 1e15 + 0.5, 123456789.25, 0, -0, 5e-324];
    const props = Object.fromEntries(ds.map((d, i) => [`d${String(i).padStart(2, '0')}`, { doubleValue: d }]));
    const lines = same(page([e(props)]), 'doubles');
    assert.match(lines, /"doubleValue":9007199254740992\}/);
    assert.match(lines, /"doubleValue":1e\+21\}/);
  });

  test('timestamps: every field of the text at its edges', () => {
    const secs = [-62135596800, -62135596799, -30610224001, -1, 0, 59, 60, 3599, 3600, 86399, 86400, 951782400, 951868799, 1700000000, 253402300799];
    const year999 = Date.UTC(999, 11, 31, 23, 59, 59) / 1000; // a three-digit year
    const entities = [...secs, year999].map((s, i) =>
      e({ t: { timestampValue: { seconds: String(s), nanos: [0, 1000, 999999000, 123456789, 10000, 100000000][i % 6]! } } }),
    );
    const lines = same(page(entities), 'timestamps');
    assert.match(lines, /"0001-01-01T00:00:00\.000000Z"/);
    assert.match(lines, /"0999-12-31T23:59:59\.\d{6}Z"/);
    assert.match(lines, /"9999-12-31T23:59:59\.\d{6}Z"/);
  });

  test('blobs of every length up to 12 bytes and around the native cut-over', () => {
    const lengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100, 1023, 1024, 1025, 5000];
    const props = Object.fromEntries(lengths.map((n) => [`b${String(n).padStart(4, '0')}`, { blobValue: Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 255)) }]));
    same(page([e(props)]), 'blobs');
  });
});

describe('UTF-8 checked while copying', () => {
  /** Entity bytes with one string value, one property name, one kind and one namespace given as raw bytes. */
  function raw(value: Buffer, name: Buffer = Buffer.from('s'), kind: Buffer = Buffer.from('K'), ns: Buffer = Buffer.alloc(0)): Buffer {
    const partition = ns.length ? field(1, Buffer.concat([field(2, Buffer.from('p')), field(4, ns)])) : field(1, field(2, Buffer.from('p')));
    const k = field(1, Buffer.concat([partition, field(2, Buffer.concat([field(1, kind), Buffer.from([0x10, 0x01])]))]));
    const props = field(3, Buffer.concat([field(1, name), field(2, field(17, value))]));
    return wrapEntity(Buffer.concat([k, props]));
  }

  const valid = ['a', 'ä', '€', '😀', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}', 'a"\\\n\u0001\u001f\u007f\u2028'];
  const invalid = [
    [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xc2, 0x41], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xe0, 0xa0],
    [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xef, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80],
    [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xe2, 0x82, 0x41], [0xf0, 0x9f, 0x98, 0x41],
  ].map((b) => Buffer.from(b));

  test('valid sequences of every length and at every boundary are copied as they are', () => {
    for (const s of valid) {
      const bytes = Buffer.from(`x${s}y${s}`, 'utf8');
      const line = same(raw(bytes, Buffer.from(s + 'n'), Buffer.from('K' + s), Buffer.from(s)), JSON.stringify(s));
      assert.ok(line.includes(JSON.stringify(`x${s}y${s}`)), JSON.stringify(s));
    }
  });

  test('bytes that are not valid UTF-8 become U+FFFD, as the object path decodes them', () => {
    for (const bad of invalid) {
      for (const where of ['value', 'name', 'kind', 'namespace'] as const) {
        const text = Buffer.concat([Buffer.from('a'), bad, Buffer.from('ü')]);
        const bytes = raw(
          where === 'value' ? text : Buffer.from('v'),
          where === 'name' ? text : Buffer.from('s'),
          where === 'kind' ? text : Buffer.from('K'),
          where === 'namespace' ? text : Buffer.alloc(0),
        );
        const line = same(bytes, `${where} ${bad.toString('hex')}`);
        assert.ok(line.includes('\uFFFD'), `${where} ${bad.toString('hex')}`);
        // and the same bytes again: nothing kept from the first time decides the second
        same(bytes, `${where} ${bad.toString('hex')}, again`);
      }
    }
  });

  test('a sequence cut short by the end of the string, where the next field\'s bytes would complete it', () => {
    // excludeFromIndexes (field 19) is tagged 0x98 0x01: 0x98 reads as a continuation byte
    for (const cut of [[0xe2, 0x82], [0xc3], [0xf0, 0x9f, 0x98]]) {
      const text = Buffer.concat([Buffer.from('a'), Buffer.from(cut)]);
      const value = Buffer.concat([field(17, text), Buffer.from([0x98, 0x01, 0x01])]);
      const k = field(1, Buffer.concat([field(1, field(2, Buffer.from('p'))), field(2, Buffer.concat([field(1, Buffer.from('K')), Buffer.from([0x10, 0x01])]))]));
      const line = same(wrapEntity(Buffer.concat([k, field(3, Buffer.concat([field(1, Buffer.from('s')), field(2, value)]))])), Buffer.from(cut).toString('hex'));
      assert.match(line, /"stringValue":"a\uFFFD+","excludeFromIndexes":true/);
    }
  });
});

function len(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field. */
function field(no: number, body: Buffer): Buffer {
  return Buffer.concat([len((no << 3) | 2), len(body.length), body]);
}

/** RunQueryResponse{batch{entity_results[{entity: <raw bytes>}]}} around raw Entity bytes. */
function wrapEntity(entityBytes: Buffer): Buffer {
  return field(1, field(2, field(1, entityBytes)));
}

/** The page's only entity with `extra` appended to its bytes. */
function rewrap(bytes: Buffer, extra: Buffer): Buffer {
  const r = RunQueryResponse.deserialize(bytes) as Loose;
  const entity = Buffer.from((definition['google.datastore.v1.Entity'] as Codec).serialize(r.batch.entityResults[0].entity));
  return wrapEntity(Buffer.concat([entity, extra]));
}
