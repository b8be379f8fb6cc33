import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyTransforms, describeTransform, formatTime, parseConvert, parseDrop, parseRename, parseSet, parseTime, parseTimeFormat, parseTypedValue,
} from '../../src/format/transforms.js';
import { Timestamp, wrapEntity } from '../../src/format/entity-helper.js';
import { isDspipeError } from '../../src/errors.js';

const invalid = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_OPTION') && re.test(err.message) && err.hint !== undefined);

test('spec parsing: validation cases first', () => {
  invalid(() => parseRename('a'), /expected old=new/);
  invalid(() => parseRename('=b'), /missing property name/);
  invalid(() => parseRename('a=a'), /same/);
  invalid(() => parseDrop(''), /missing/);
  invalid(() => parseDrop('__key__'), /reserved/);
  invalid(() => parseConvert('birthday'), /expected prop:timestamp->string/);
  invalid(() => parseConvert('b:string->string'), /does nothing/);
  invalid(() => parseConvert('b:timestamp->string:weekly'), /unknown time format "weekly"/);
  invalid(() => parseConvert('b:timestamp->string:%Y-%q'), /unknown pattern token %q/);
  invalid(() => parseSet('x'), /expected prop=TYPE:VALUE/);
  invalid(() => parseSet('x=5'), /has no type/);
  invalid(() => parseSet('x=int:5.5'), /not an integer/);
  invalid(() => parseSet('x=int:9223372036854775808'), /64 bits/);
  invalid(() => parseSet('x=bool:yes'), /not true or false/);
  invalid(() => parseSet('x=double:abc'), /not a number/);
  invalid(() => parseSet('x=timestamp:yesterday'), /RFC 3339/);
  invalid(() => parseSet('x=list:1'), /unknown value type "list"/);
});

test('spec parsing: accepted forms', () => {
  assert.deepEqual(parseRename('old=new'), { type: 'rename', from: 'old', to: 'new' });
  assert.deepEqual(parseConvert('birthday:timestamp->string'), { type: 'convert', property: 'birthday', from: 'timestamp', to: 'string', format: { kind: 'iso' } });
  assert.deepEqual(parseConvert('b:string->timestamp:%d/%m/%Y').type === 'convert' && parseConvert('b:string->timestamp:%d/%m/%Y'), {
    type: 'convert', property: 'b', from: 'string', to: 'timestamp', format: { kind: 'pattern', pattern: '%d/%m/%Y' },
  });
  assert.deepEqual(parseTypedValue('int:-5'), { integerValue: '-5' });
  assert.deepEqual(parseTypedValue('double:1.5'), { doubleValue: 1.5 });
  assert.deepEqual(parseTypedValue('str:a:b'), { stringValue: 'a:b' });
  assert.deepEqual(parseTypedValue('bool:false'), { booleanValue: false });
  assert.deepEqual(parseTypedValue('null'), { nullValue: 'NULL_VALUE' });
  assert.deepEqual(parseTypedValue('timestamp:2024-01-31T00:00:00Z'), { timestampValue: { seconds: '1706659200', nanos: 0 } });
  assert.equal(describeTransform(parseConvert('b:timestamp->string:date')), 'convert b timestamp → string (date)');
});

test('time formats: format and parse each, UTC, microseconds kept', () => {
  const ts = new Timestamp(Date.UTC(1999, 11, 31, 23, 59, 58, 123), 456);
  assert.equal(formatTime(ts, { kind: 'iso' }), '1999-12-31T23:59:58.123456Z');
  assert.equal(formatTime(new Timestamp(Date.UTC(1999, 11, 31)), { kind: 'iso' }), '1999-12-31T00:00:00.000Z');
  assert.equal(formatTime(ts, { kind: 'date' }), '1999-12-31');
  assert.equal(formatTime(ts, { kind: 'epoch-ms' }), String(Date.UTC(1999, 11, 31, 23, 59, 58, 123)));
  assert.equal(formatTime(ts, parseTimeFormat('%d.%m.%Y %H:%M:%S.%L|%f %%')), '31.12.1999 23:59:58.123|123456 %');
  const back = parseTime('1999-12-31T23:59:58.123456Z', { kind: 'iso' }) as Timestamp;
  assert.deepEqual([back.getTime(), back.micros], [ts.getTime(), 456]);
  const offset = parseTime('2000-01-01T09:00:00+09:00', { kind: 'iso' }) as Timestamp;
  assert.equal(offset.toISOString(), '2000-01-01T00:00:00.000Z');
  assert.equal((parseTime('0001-01-01', { kind: 'date' }) as Timestamp).toISOString(), '0001-01-01T00:00:00.000Z');
  assert.equal((parseTime('-1000', { kind: 'epoch-ms' }) as Timestamp).toISOString(), '1969-12-31T23:59:59.000Z');
  const p = parseTime('31/12/1999 23:59', parseTimeFormat('%d/%m/%Y %H:%M')) as Timestamp;
  assert.equal(p.toISOString(), '1999-12-31T23:59:00.000Z');
  assert.match(parseTime('2001-02-29', { kind: 'date' }) as string, /no such date/);
  assert.match(parseTime('1999-12-31', { kind: 'iso' }) as string, /is not a iso time/);
  assert.match(parseTime('31-12-1999', parseTimeFormat('%d/%m/%Y')) as string, /does not match/);
});

const user = () =>
  wrapEntity({
    key: { path: [{ kind: 'User', name: 'u' }] },
    properties: {
      birthday: { timestampValue: { seconds: '946684800', nanos: 0 }, excludeFromIndexes: true, meaning: 7 },
      legacy: { stringValue: 'x' },
      old: { integerValue: '1', meaning: 3 },
      dates: { arrayValue: { values: [{ timestampValue: { seconds: '0', nanos: 0 } }, { stringValue: 'keep' }] } },
    },
  });

test('convert timestamp->string keeps the index flag, drops meaning, converts array elements, leaves other types', () => {
  const e = applyTransforms(user(), [parseConvert('birthday:timestamp->string:date'), parseConvert('dates:timestamp->string')]);
  assert.deepEqual(e.getRaw('birthday'), { excludeFromIndexes: true, stringValue: '2000-01-01' });
  assert.deepEqual(e.get('dates'), ['1970-01-01T00:00:00.000Z', 'keep']);
  const again = applyTransforms(e, [parseConvert('birthday:timestamp->string:date')]);
  assert.deepEqual(again.getRaw('birthday'), { excludeFromIndexes: true, stringValue: '2000-01-01' });
});

test('convert string->timestamp parses, and a string that does not parse throws', () => {
  const e = applyTransforms(user(), [parseConvert('birthday:timestamp->string:date'), parseConvert('birthday:string->timestamp:date')]);
  assert.deepEqual(e.getRaw('birthday'), { excludeFromIndexes: true, timestampValue: { seconds: '946684800', nanos: 0 } });
  assert.throws(() => applyTransforms(user(), [parseConvert('legacy:string->timestamp')]), /cannot convert legacy: "x" is not a iso time/);
});

test('rename, drop and set-if-missing', () => {
  const e = applyTransforms(user(), [parseRename('old=renamed'), parseDrop('legacy'), parseSet('status=str:active'), parseSet('renamed=int:99')]);
  assert.deepEqual(e.getRaw('renamed'), { integerValue: '1', meaning: 3 });
  assert.equal(e.has('old'), false);
  assert.equal(e.has('legacy'), false);
  assert.equal(e.get('status'), 'active');
  assert.deepEqual(applyTransforms(user(), [parseRename('missing=x')]).names(), user().names());
  assert.throws(() => applyTransforms(user(), [parseRename('old=legacy')]), /already has "legacy"/);
});
