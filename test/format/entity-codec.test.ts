import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { decodeEntity, decodeEntityObject, decodeKey, decodeValue, encodeEntity, encodeKey, encodeValue } from '../../src/format/entity-codec.js';
import { DspipeError } from '../../src/errors.js';
import type { IEntity, IValue } from '../../src/model/proto.js';
import { CORNER_CASES, KEY, P, entity, nested, randomEntities } from '../fixtures/codec-corpus.js';

// The reference for "the shape v1.DatastoreClient returns": Datastore's own
// proto files through proto-loader with google-gax's options.
const require = createRequire(import.meta.url);
function packageRoot(name: string, entry: string): string {
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return join(dir, entry);
}
const datastoreProtos = packageRoot('@google-cloud/datastore', 'build/protos');
const gaxProtos = packageRoot('google-gax', 'build/protos');
const definition = protoLoader.loadSync('google/datastore/v1/datastore.proto', {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [gaxProtos, datastoreProtos],
});
const EntityType = definition['google.datastore.v1.Entity'] as protoLoader.MessageTypeDefinition<object, object>;

/** What Datastore would hand back for `x`: serialize and deserialize through the real Entity type. */
function viaProto(x: IEntity): IEntity {
  return EntityType.deserialize(EntityType.serialize(x)) as IEntity;
}


function assertLossless(x: IEntity): string {
  const line = encodeEntity(x);
  const wire = viaProto(x);
  const decoded = decodeEntity(line);
  // proto -> line -> proto: identical to what the gRPC layer produces.
  assert.deepStrictEqual(decoded, wire);
  // The proto-loader shape encodes to the same bytes as the request shape.
  assert.equal(encodeEntity(wire), line);
  // line -> proto -> line.
  assert.equal(encodeEntity(decoded), line);
  return line;
}

describe('round trips proto -> line -> proto and back', () => {
  const cases = CORNER_CASES;
  for (const [name, props] of cases) {
    test(name, () => {
      assertLossless(entity(props));
    });
  }

  test('no properties at all', () => {
    assert.equal(assertLossless(entity({})), '{"key":{"partitionId":{"projectId":"proj","databaseId":"","namespaceId":""},"path":[{"kind":"Thing","id":"42"}]},"properties":{}}');
  });

  test('100-element key path, ids and names, named database and namespace', () => {
    const path = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? { kind: `K${i}`, id: String(i + 1) } : { kind: `K${i}`, name: `n${i}` }));
    assertLossless(entity({ a: { nullValue: 'NULL_VALUE' } }, { partitionId: { projectId: 'p', databaseId: 'db', namespaceId: 'ns' }, path }));
  });

  test('a property named __proto__ survives decoding as an own property', () => {
    const line = '{"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":""},"path":[{"kind":"K","id":"1"}]},"properties":{"__proto__":{"integerValue":"1"}}}';
    const e = decodeEntity(line);
    assert.ok(Object.prototype.hasOwnProperty.call(e.properties, '__proto__'));
    assert.equal(Object.getPrototypeOf(e.properties), Object.prototype);
    assert.equal(encodeEntity(e), line);
  });
});

describe('every code point and random entities', () => {
  test('every Unicode scalar value round-trips, and a line never holds a raw line break', () => {
    const props: Record<string, IValue> = {};
    let chunk = '';
    let n = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      chunk += String.fromCodePoint(cp);
      if (chunk.length >= 8192 || cp === 0x10ffff) {
        props[`chunk${String(n++).padStart(4, '0')}`] = { stringValue: chunk, excludeFromIndexes: true };
        chunk = '';
      }
    }
    const line = assertLossless(entity(props));
    assert.ok(!line.includes('\n') && !line.includes('\r'));
  });

  test('200 random entities agree with proto-loader', () => {
    const gen = randomEntities(7);
    for (let e = 0; e < 200; e++) assertLossless(gen.next(e));
  });
});

describe('canonical lines: line -> proto -> line is the identity', () => {
  const k = '"key":{"partitionId":{"projectId":"p","databaseId":"d","namespaceId":"n"},"path":[{"kind":"K","name":"x"}]}';
  const lines = [
    `{${k},"properties":{"a":{"integerValue":"1"},"b":{"doubleValue":1},"c":{"doubleValue":-0},"d":{"doubleValue":"NaN"},"e":{"doubleValue":"-Infinity"},"f":{"doubleValue":5e-324}}}`,
    `{${k},"properties":{"t":{"timestampValue":"0001-01-01T00:00:00.000000Z"},"u":{"timestampValue":"9999-12-31T23:59:59.999999Z"},"v":{"timestampValue":"1969-12-31T23:59:59.999999Z"}}}`,
    `{${k},"properties":{"a":{"arrayValue":{}},"b":{"arrayValue":{"values":[{"nullValue":null,"excludeFromIndexes":true},{"stringValue":"\\u0000","meaning":1}]}}}}`,
    `{${k},"properties":{"e":{"entityValue":{"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":""},"path":[{"kind":"E"}]},"properties":{"x":{"blobValue":"AP8="}}}},"f":{"entityValue":{"properties":{}}}}}`,
    `{${k},"properties":{"g":{"geoPointValue":{"latitude":-90,"longitude":180}},"k":{"keyValue":{"partitionId":{"projectId":"q","databaseId":"","namespaceId":"x"},"path":[{"kind":"A","id":"1"},{"kind":"B","id":"2"}]}}}}`,
  ];
  for (const [i, line] of lines.entries()) {
    test(`line ${i + 1}`, () => {
      assert.equal(encodeEntity(decodeEntity(line)), line);
    });
  }

  test('sub-microsecond digits and an empty values array are accepted and normalised', () => {
    const line = `{${k},"properties":{"a":{"arrayValue":{"values":[]}},"t":{"timestampValue":"2024-02-29T12:00:00.123456789Z"},"u":{"timestampValue":"2024-02-29T12:00:00Z"}}}`;
    const e = decodeEntity(line);
    assert.deepStrictEqual(e.properties!['t']!.timestampValue, { seconds: '1709208000', nanos: 123456000 });
    assert.equal(
      encodeEntity(e),
      `{${k},"properties":{"a":{"arrayValue":{}},"t":{"timestampValue":"2024-02-29T12:00:00.123456Z"},"u":{"timestampValue":"2024-02-29T12:00:00.000000Z"}}}`,
    );
  });
});

describe('determinism', () => {
  test('property insertion order does not change the bytes; names sort by UTF-8 bytes', () => {
    const names = ['b', 'a', '😀', '\uFFFF', 'B', 'aa', '\u00e9', 'z'];
    const forward: Record<string, IValue> = {};
    const backward: Record<string, IValue> = {};
    for (const n of names) forward[n] = { stringValue: n };
    for (const n of [...names].reverse()) backward[n] = { stringValue: n };
    const a = encodeEntity(entity(forward));
    assert.equal(encodeEntity(entity(backward)), a);
    const order = Object.keys((JSON.parse(a) as { properties: object }).properties);
    // U+FFFF (EF BF BF) sorts before U+1F600 (F0 9F 98 80) in UTF-8, though not in UTF-16.
    assert.deepEqual(order, ['B', 'a', 'aa', 'b', 'z', '\u00e9', '\uFFFF', '😀']);
  });

  test('nested entity properties are sorted too, and key fields are always in one order', () => {
    const x = entity({ e: { entityValue: { properties: { y: { integerValue: '1' }, x: { integerValue: '2' } } } } }, { path: [{ name: 'n', kind: 'K' }], partitionId: { namespaceId: 'ns', projectId: 'p' } });
    assert.equal(
      encodeEntity(x),
      '{"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":"ns"},"path":[{"kind":"K","name":"n"}]},"properties":{"e":{"entityValue":{"properties":{"x":{"integerValue":"2"},"y":{"integerValue":"1"}}}}}}',
    );
  });
});

describe('encoder accepts hand-built request shapes', () => {
  test('ids, integers and seconds as number, bigint and Long; blobs as Uint8Array and base64', () => {
    const long = { low: -1, high: 0x7fffffff, unsigned: false }; // 2^63-1 as a protobufjs Long
    const negLong = { low: 0, high: -0x80000000, unsigned: false }; // -2^63
    const u8 = new Uint8Array([9, 1, 2, 3, 4]).subarray(1);
    const loose = {
      key: { partitionId: { projectId: 'p' }, path: [{ kind: 'K', id: 7 }, { kind: 'L', id: 9223372036854775807n }] },
      properties: {
        n: { integerValue: 5 },
        b: { integerValue: -(2n ** 63n) },
        l: { integerValue: long },
        m: { integerValue: negLong },
        big: { integerValue: 2 ** 60 },
        u8: { blobValue: u8 },
        b64: { blobValue: 'AQIDBA==' },
        ts: { timestampValue: { seconds: 1700000000, nanos: 5 } },
        tsLong: { timestampValue: { seconds: { low: 1, high: 0, unsigned: false } } },
        geo: { geoPointValue: { latitude: 1 } },
        nul: { nullValue: null },
        nul0: { nullValue: 0 },
        arr: { arrayValue: {} },
      },
    };
    const e = decodeEntity(encodeEntity(loose as unknown as IEntity));
    const p = e.properties!;
    assert.deepEqual(e.key!.path, [{ kind: 'K', id: '7', idType: 'id' }, { kind: 'L', id: '9223372036854775807', idType: 'id' }]);
    assert.equal(p['n']!.integerValue, '5');
    assert.equal(p['b']!.integerValue, '-9223372036854775808');
    assert.equal(p['l']!.integerValue, '9223372036854775807');
    assert.equal(p['m']!.integerValue, '-9223372036854775808');
    assert.equal(p['big']!.integerValue, '1152921504606846976');
    assert.deepEqual(p['u8']!.blobValue, Buffer.from([1, 2, 3, 4]));
    assert.deepEqual(p['b64']!.blobValue, Buffer.from([1, 2, 3, 4]));
    // Sub-microsecond nanos are truncated, as Datastore stores them.
    assert.deepEqual(p['ts']!.timestampValue, { seconds: '1700000000', nanos: 0 });
    assert.deepEqual(p['tsLong']!.timestampValue, { seconds: '1', nanos: 0 });
    assert.deepEqual(p['geo']!.geoPointValue, { latitude: 1, longitude: 0 });
    assert.equal(p['nul']!.nullValue, 'NULL_VALUE');
    assert.equal(p['nul0']!.nullValue, 'NULL_VALUE');
    assert.deepEqual(p['arr']!.arrayValue, { values: [] });
  });

  test('an absent partitionId is written as three empty strings', () => {
    const line = encodeEntity({ key: { path: [{ kind: 'K', name: 'a' }] }, properties: {} });
    assert.match(line, /^\{"key":\{"partitionId":\{"projectId":"","databaseId":"","namespaceId":""\}/);
  });

  test('encodeKey / encodeValue give REST JSON objects; decodeKey / decodeValue invert them', () => {
    const key = { partitionId: P, path: [{ kind: 'A', id: '1' }] };
    assert.deepEqual(encodeKey(key), { partitionId: P, path: [{ kind: 'A', id: '1' }] });
    assert.deepEqual(decodeKey(encodeKey(key)), { partitionId: P, path: [{ kind: 'A', id: '1', idType: 'id' }] });
    const v = encodeValue({ doubleValue: -0, excludeFromIndexes: true });
    assert.ok(Object.is((v as { doubleValue: number }).doubleValue, -0));
    assert.deepEqual(decodeValue(v, 'x'), { meaning: 0, excludeFromIndexes: true, doubleValue: -0, valueType: 'doubleValue' });
  });

  const rejects: Array<[string, unknown, RegExp, string | undefined]> = [
    ['lone high surrogate in a string', { s: { stringValue: 'a\uD800b' } }, /lone surrogate/, 's'],
    ['lone low surrogate in a nested string', { e: { entityValue: { properties: { t: { stringValue: '\uDC00' } } } } }, /lone surrogate/, 'e.t'],
    ['lone surrogate in a property name', { ['x\uD83D']: { integerValue: '1' } }, /lone surrogate/, '["x\\ud83d"]'],
    ['two value types', { v: { stringValue: 'a', integerValue: '1' } }, /two value types: integerValue and stringValue/, 'v'],
    ['no value type', { v: { meaning: 1 } }, /no value type/, 'v'],
    ['integer out of range', { a: { arrayValue: { values: [{ integerValue: '9223372036854775808' }] } } }, /not a decimal int64/, 'a[0]'],
    ['unsafe float as integer', { v: { integerValue: 1.5 } }, /not an int64/, 'v'],
    ['bad base64 string', { v: { blobValue: 'AQ=' } }, /not valid standard base64/, 'v'],
    ['timestamp out of range', { v: { timestampValue: { seconds: '253402300800' } } }, /outside 0001-01-01/, 'v'],
    ['too deep', { v: nested(21) }, /nested deeper than 20/, 'v' + '.child'.repeat(20)],
    ['unknown valueType', { v: { valueType: 'fooValue', fooValue: 1 } }, /unknown value type "fooValue"/, 'v'],
  ];
  for (const [name, props, message, path] of rejects) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => encodeEntity(entity(props as Record<string, IValue>)),
        (err: unknown) => err instanceof DspipeError && err.code === 'DSPIPE_REJECTED_ENTITY' && message.test(err.message) && err.path === path,
      );
    });
  }

  test('rejects bad keys', () => {
    const bad: Array<[object | null, RegExp, string]> = [
      [null, /entity has no key/, ''],
      [{ partitionId: P, path: [] }, /key path is empty/, '__key__'],
      [{ partitionId: P, path: [{ kind: 'K' }] }, /neither id nor name/, '__key__.path[0]'],
      [{ partitionId: P, path: [{ kind: 'K', id: '0' }] }, /ids are 1\.\./, '__key__.path[0]'],
      [{ partitionId: P, path: [{ kind: 'K', id: '1', name: 'x' }] }, /both an id and a name/, '__key__.path[0]'],
      [{ partitionId: P, path: Array.from({ length: 101 }, (_, i) => ({ kind: 'K', id: String(i + 1) })) }, /101 elements/, '__key__'],
      [{ partitionId: { projectId: 'p\uDFFF' }, path: [{ kind: 'K', id: '1' }] }, /lone surrogate/, '__key__.partitionId'],
    ];
    for (const [key, message, path] of bad) {
      assert.throws(
        () => encodeEntity({ key, properties: {} } as IEntity),
        (err: unknown) => err instanceof DspipeError && message.test(err.message) && (err.path ?? '') === path,
        `${message}`,
      );
    }
  });
});

describe('decoder errors name the file, line and property path', () => {
  const K = '"key":{"partitionId":{"projectId":"p","databaseId":"","namespaceId":""},"path":[{"kind":"K","id":"1"}]}';
  const withProps = (props: string) => `{${K},"properties":${props}}`;
  const cases: Array<[string, string, RegExp, string | undefined]> = [
    ['invalid JSON', '{"key":', /invalid JSON/, undefined],
    ['not an object', '[1,2]', /must hold a JSON object/, undefined],
    ['unknown top-level field', `{${K},"properties":{},"version":"3"}`, /unknown top-level field "version"/, undefined],
    ['missing key', '{"properties":{}}', /entity has no key/, undefined],
    ['bad base64', withProps('{"photo":{"blobValue":"AQ=="},"p2":{"blobValue":"A$=="}}'), /not valid standard base64/, 'p2'],
    ['base64 without padding', withProps('{"b":{"blobValue":"AQ"}}'), /not valid standard base64/, 'b'],
    ['url-safe base64', withProps('{"b":{"blobValue":"-_8="}}'), /not valid standard base64/, 'b'],
    ['non-canonical base64 bits', withProps('{"b":{"blobValue":"AR=="}}'), /not valid standard base64/, 'b'],
    ['non-canonical base64 bits before one =', withProps('{"b":{"blobValue":"AAB="}}'), /not valid standard base64/, 'b'],
    ['base64 with whitespace', withProps('{"b":{"blobValue":"AQ  "}}'), /not valid standard base64/, 'b'],
    ['base64 with a line break', withProps('{"b":{"blobValue":"AQID\\nBA=="}}'), /not valid standard base64/, 'b'],
    ['base64 with = inside', withProps('{"b":{"blobValue":"AQ==AQ=="}}'), /not valid standard base64/, 'b'],
    ['base64 all padding', withProps('{"b":{"blobValue":"===="}}'), /not valid standard base64/, 'b'],
    ['integer too large', withProps('{"n":{"integerValue":"9223372036854775808"}}'), /out of the int64 range/, 'n'],
    ['integer too small', withProps('{"n":{"integerValue":"-9223372036854775809"}}'), /out of the int64 range/, 'n'],
    ['integer as number', withProps('{"n":{"integerValue":5}}'), /must be a decimal string/, 'n'],
    ['integer with leading zero', withProps('{"n":{"integerValue":"007"}}'), /must be a decimal string/, 'n'],
    ['integer as float text', withProps('{"n":{"integerValue":"1.0"}}'), /must be a decimal string/, 'n'],
    ['unknown value type', withProps('{"a":{"entityValue":{"properties":{"b":{"decimalValue":"1"}}}}}'), /unknown value type "decimalValue"/, 'a.b'],
    ['two value types', withProps('{"a":{"arrayValue":{"values":[{"nullValue":null},{"stringValue":"x","integerValue":"1"}]}}}'), /two value types: stringValue and integerValue/, 'a[1]'],
    ['no value type', withProps('{"a":{"excludeFromIndexes":true}}'), /no value type/, 'a'],
    ['bad timestamp format', withProps('{"t":{"timestampValue":"2024-01-01 00:00:00Z"}}'), /invalid timestamp/, 't'],
    ['timestamp with offset', withProps('{"t":{"timestampValue":"2024-01-01T00:00:00+01:00"}}'), /invalid timestamp/, 't'],
    ['timestamp year 0', withProps('{"t":{"timestampValue":"0000-12-31T23:59:59.000000Z"}}'), /out of range/, 't'],
    ['timestamp Feb 30', withProps('{"t":{"timestampValue":"2023-02-29T00:00:00.000000Z"}}'), /no such date/, 't'],
    ['timestamp second 60', withProps('{"t":{"timestampValue":"2016-12-31T23:59:60.000000Z"}}'), /no such date/, 't'],
    ['double as string', withProps('{"d":{"doubleValue":"1.5"}}'), /JSON number or "NaN"/, 'd'],
    ['lone surrogate', withProps('{"s":{"stringValue":"\\ud800"}}'), /lone surrogate/, 's'],
    ['property name with dots', withProps('{"a.b":{"stringValue":1}}'), /must be a string/, '["a.b"]'],
    ['meaning not integer', withProps('{"s":{"stringValue":"x","meaning":"15"}}'), /meaning must be an int32/, 's'],
    ['excludeFromIndexes not boolean', withProps('{"s":{"stringValue":"x","excludeFromIndexes":1}}'), /excludeFromIndexes must be a boolean/, 's'],
    ['empty key path', '{"key":{"path":[]},"properties":{}}', /key path is empty/, '__key__'],
    ['id and name', '{"key":{"path":[{"kind":"K","id":"1","name":"n"}]}}', /both an id and a name/, '__key__.path[0]'],
    ['id 0', '{"key":{"path":[{"kind":"P","id":"5"},{"kind":"K","id":"0"}]}}', /ids are decimal strings 1\.\./, '__key__.path[1]'],
    ['non-numeric id', '{"key":{"path":[{"kind":"K","id":"12a"}]}}', /ids are decimal strings/, '__key__.path[0]'],
    ['numeric id', '{"key":{"path":[{"kind":"K","id":12}]}}', /ids are decimal strings/, '__key__.path[0]'],
    ['id out of range', '{"key":{"path":[{"kind":"K","id":"9223372036854775808"}]}}', /ids are decimal strings/, '__key__.path[0]'],
    ['incomplete entity key', '{"key":{"path":[{"kind":"K"}]}}', /neither id nor name/, '__key__.path[0]'],
    ['missing kind', '{"key":{"path":[{"id":"1"}]}}', /non-empty kind/, '__key__.path[0]'],
    ['101 path elements', `{"key":{"path":[${Array.from({ length: 101 }, (_, i) => `{"kind":"K","id":"${i + 1}"}`).join(',')}]}}`, /101 elements/, '__key__'],
    ['unknown partition field', '{"key":{"partitionId":{"project":"p"},"path":[{"kind":"K","id":"1"}]}}', /unknown partitionId field "project"/, '__key__.partitionId'],
    ['bad key value', withProps('{"owner":{"keyValue":{"path":[{"kind":"K","id":"1"},{"kind":"L","id":"x"}]}}}'), /ids are decimal strings/, 'owner.__key__.path[1]'],
    ['bad entity value key', withProps('{"e":{"entityValue":{"key":{"path":[]},"properties":{}}}}'), /key path is empty/, 'e.__key__'],
  ];
  for (const [name, line, message, path] of cases) {
    test(name, () => {
      assert.throws(
        () => decodeEntity(line, { file: 'Kind.ndjson.zst', line: 17 }),
        (err: unknown) => {
          assert.ok(err instanceof DspipeError, String(err));
          assert.equal(err.code, 'DSPIPE_INVALID_LINE');
          assert.match(err.message, message);
          assert.equal(err.file, 'Kind.ndjson.zst');
          assert.equal(err.line, 17);
          assert.equal(err.path, path);
          return true;
        },
      );
    });
  }

  test('nesting deeper than 20 entity values', () => {
    const ok = encodeEntity(entity({ v: nested(20) }));
    // Wrap the 20-deep value in one more entityValue, by hand.
    const deeper = ok.replace('"properties":{"v":', '"properties":{"v":{"entityValue":{"properties":{"child":').replace(/\}$/, '}}}}');
    assert.throws(
      () => decodeEntity(deeper),
      (err: unknown) => err instanceof DspipeError && /nested deeper than 20/.test(err.message) && err.path === 'v' + '.child'.repeat(20),
    );
    assert.doesNotThrow(() => decodeEntity(ok));
  });

  test('decodeEntityObject takes a parsed object; decodeValue prefixes the given path', () => {
    assert.throws(
      () => decodeEntityObject({ key: KEY, properties: { a: { stringValue: 'x', extra: 1 } } }, { file: 'f', line: 2 }),
      (err: unknown) => err instanceof DspipeError && err.path === 'a' && err.line === 2 && /unknown field "extra" in a value/.test(err.message),
    );
    assert.throws(
      () => decodeValue({ arrayValue: { values: [{ integerValue: 'x' }] } }, 'tags'),
      (err: unknown) => err instanceof DspipeError && err.path === 'tags[0]',
    );
    assert.throws(() => decodeKey({ path: [{ kind: 'K', id: '1', name: 'n' }] }, 'ref'), (err: unknown) => err instanceof DspipeError && err.path === 'ref.path[0]');
  });

  test('integerValue syntax and range, exactly', () => {
    for (const ok of ['0', '7', '-7', '1000000000000000000', '9223372036854775807', '-9223372036854775808', '9223372036854775806', '-1']) {
      assert.equal(decodeValue({ integerValue: ok }, 'n').integerValue, ok);
    }
    for (const [bad, why] of [
      ['', /decimal string/], ['-', /decimal string/], ['+1', /decimal string/], ['01', /decimal string/], ['-01', /decimal string/],
      ['-0', /decimal string/], ['1e3', /decimal string/], [' 1', /decimal string/], ['1 ', /decimal string/], ['١٢', /decimal string/],
      ['9223372036854775808', /out of the int64 range/], ['-9223372036854775809', /out of the int64 range/],
      ['9999999999999999999', /out of the int64 range/], ['12345678901234567890', /out of the int64 range/],
    ] as const) {
      assert.throws(() => decodeValue({ integerValue: bad }, 'n'), (err: unknown) => err instanceof DspipeError && why.test(err.message) && err.path === 'n', bad);
    }
  });

  test('base64: exactly the canonical texts of every 1- and 2-byte tail are accepted', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const canonical = new Set<string>();
    for (let a = 0; a < 256; a++) {
      canonical.add(Buffer.from([a]).toString('base64'));
      for (let b = 0; b < 256; b++) canonical.add(Buffer.from([a, b]).toString('base64'));
    }
    for (const x of alphabet) {
      for (const y of alphabet) {
        for (const text of [`${x}${y}==`, `A${x}${y}=`, `${x}A${y}=`]) {
          const ok = canonical.has(text);
          if (ok) assert.equal(decodeValue({ blobValue: text }, 'b').blobValue!.toString('base64'), text);
          else assert.throws(() => decodeValue({ blobValue: text }, 'b'), /not valid standard base64/, text);
        }
      }
    }
  });

  test('describe() shows where', () => {
    try {
      decodeEntity(withProps('{"address":{"entityValue":{"properties":{"street":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"},{"blobValue":"!"}]}}}}}}'), { file: 'x.ndjson', line: 3 });
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof DspipeError);
      assert.match(err.describe(), /^x\.ndjson:3, property address\.street\[2\]: blobValue is not valid standard base64/);
    }
  });
});
