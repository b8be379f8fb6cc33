import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IValue } from '../../src/model/proto.js';
import { VALUE_FIELDS, VALUE_TYPES, valueField, valueFieldOf, valueTypeOf } from '../../src/model/value-types.js';

test('valueTypeOf reads gRPC valueType and hand-built values alike', () => {
  assert.equal(valueTypeOf({ valueType: 'timestampValue', timestampValue: { seconds: '1', nanos: 0 } } as IValue), 'timestamp');
  assert.equal(valueTypeOf({ stringValue: '' }), 'string');
  assert.equal(valueTypeOf({ integerValue: '0' }), 'integer');
  assert.equal(valueTypeOf({ nullValue: 'NULL_VALUE' }), 'null');
  assert.equal(valueTypeOf({ arrayValue: { values: [] } }), 'array');
  assert.equal(valueTypeOf({ booleanValue: false }), 'boolean');
});

test('every type name maps to one oneof member and back', () => {
  assert.equal(new Set(VALUE_TYPES.map(valueField)).size, VALUE_FIELDS.length);
  for (const t of VALUE_TYPES) assert.equal(valueTypeOf({ [valueField(t)]: t === 'null' ? null : {} } as IValue), t);
});

test('valueFieldOf: null by own field only, none set is undefined', () => {
  assert.equal(valueFieldOf({ nullValue: null } as unknown as IValue), 'nullValue');
  assert.equal(valueFieldOf({}), undefined);
  assert.equal(valueTypeOf({}), 'null');
  // protobufjs messages inherit null defaults from their prototype: not a null value.
  const inherited = Object.create({ nullValue: null, stringValue: null }) as Record<string, unknown>;
  inherited.stringValue = 'x';
  assert.equal(valueFieldOf(inherited as IValue), 'stringValue');
});
