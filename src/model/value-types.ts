/**
 * The value types Datastore holds, once: each type's short name (what schema
 * reports and people read) and the Value oneof member that holds it.
 */
import type { IValue } from './proto.js';

/** The Value oneof's members, in the order a hand-built value's variant is detected. */
export const VALUE_FIELDS = [
  'nullValue',
  'booleanValue',
  'integerValue',
  'doubleValue',
  'timestampValue',
  'keyValue',
  'stringValue',
  'blobValue',
  'geoPointValue',
  'entityValue',
  'arrayValue',
] as const;
export type ValueField = (typeof VALUE_FIELDS)[number];

/** Short type names, in the order schema reports them. */
export const VALUE_TYPES = [
  'null',
  'boolean',
  'integer',
  'double',
  'timestamp',
  'key',
  'string',
  'blob',
  'geoPoint',
  'array',
  'entity',
] as const;
export type ValueTypeName = (typeof VALUE_TYPES)[number];

const FIELD_OF: Record<ValueTypeName, ValueField> = {
  null: 'nullValue',
  boolean: 'booleanValue',
  integer: 'integerValue',
  double: 'doubleValue',
  timestamp: 'timestampValue',
  key: 'keyValue',
  string: 'stringValue',
  blob: 'blobValue',
  geoPoint: 'geoPointValue',
  array: 'arrayValue',
  entity: 'entityValue',
};
const TYPE_OF_FIELD = new Map<string, ValueTypeName>(VALUE_FIELDS.map((f) => [f, VALUE_TYPES.find((t) => FIELD_OF[t] === f)!]));

/** The proto field that holds a value of this type. */
export function valueField(type: ValueTypeName): ValueField {
  return FIELD_OF[type];
}

/**
 * The oneof member a value sets: gRPC's `valueType` when proto-loader decoded
 * it, else the first member set (objects built by hand or by the codec), else
 * undefined (no variant: the null value on the wire).
 */
export function valueFieldOf(value: IValue): ValueField | undefined {
  // proto-loader names the member it decoded (oneofs: true), and never anything else: this is the
  // hot path of the emulator's query engine, so it is trusted without a lookup.
  const named = (value as { valueType?: string }).valueType;
  if (typeof named === 'string' && named !== '') return named as ValueField;
  const rec = value as Record<string, unknown>;
  for (const f of VALUE_FIELDS) {
    const v = rec[f];
    // nullValue is the enum 'NULL_VALUE' (or 0, or null in the JSON mapping), so an own field is the
    // test; protobufjs messages inherit null defaults for every member from their prototype.
    if (f === 'nullValue' ? v !== undefined && Object.prototype.hasOwnProperty.call(rec, f) : v !== undefined && v !== null) return f;
  }
  return undefined;
}

/** The short type name of a value; a value with no variant set is the null value. */
export function valueTypeOf(value: IValue): ValueTypeName {
  const f = valueFieldOf(value);
  return f === undefined ? 'null' : TYPE_OF_FIELD.get(f)!;
}
