/**
 * Datastore's index view of property values: which values of a property are
 * indexed (array elements one by one, embedded entities through dotted
 * names, nothing excluded from indexes) and the total order across types.
 *
 * The order is the one Datastore documents for mixed types: null, then
 * fixed-point numbers (integers and timestamps, compared together as
 * microseconds, because timestamps are indexed as int64 microseconds — which
 * is also why projections return them as integers with meaning 18), then
 * booleans, byte strings, Unicode strings (UTF-8 bytes), doubles (NaN after
 * every number, as issue 3 specifies), geo points (latitude, then longitude)
 * and keys.
 */
import type { IValue, IEntity, ITimestamp } from '../../model/proto.js';
import { compareKeys, compareUtf8 } from '../../model/key-order.js';
import { valueFieldOf, type ValueField } from '../../model/value-types.js';

export type ValueType = ValueField;

/** The oneof member a value sets (undefined: none, the null value). */
export const valueTypeOf = valueFieldOf;

const RANK: Record<ValueType, number> = {
  nullValue: 0,
  integerValue: 1,
  timestampValue: 1,
  booleanValue: 2,
  // Byte strings and Unicode strings are one class ordered by bytes: both Google emulators
  // order and compare them so (`= "a"` matches the blob 61 too), where the documentation
  // lists byte strings apart; the emulators are what users test against.
  blobValue: 3,
  stringValue: 3,
  doubleValue: 5,
  geoPointValue: 6,
  keyValue: 7,
  entityValue: 8,
  arrayValue: 9,
};

export function rankOf(v: IValue): number {
  const t = valueTypeOf(v);
  return t === undefined ? 0 : RANK[t];
}

function intString(v: IValue): string {
  const i = v.integerValue;
  return i === null || i === undefined ? '0' : String(i);
}

function timestampMicros(t: ITimestamp | null | undefined): bigint {
  const seconds = BigInt(String(t?.seconds ?? 0));
  const nanos = Number(t?.nanos ?? 0);
  return seconds * 1_000_000n + BigInt(Math.floor(nanos / 1000));
}

function compareIntStrings(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length < 16 && b.length < 16) {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareTimestamps(a: ITimestamp | null | undefined, b: ITimestamp | null | undefined): number {
  const c = compareIntStrings(String(a?.seconds ?? 0), String(b?.seconds ?? 0));
  if (c !== 0) return c;
  const x = Math.floor(Number(a?.nanos ?? 0) / 1000);
  const y = Math.floor(Number(b?.nanos ?? 0) / 1000);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function doubleOf(v: IValue): number {
  const d = v.doubleValue as unknown;
  return typeof d === 'number' ? d : Number(d ?? 0);
}

export function bytesOf(v: IValue): Buffer {
  const b = v.blobValue as unknown;
  if (Buffer.isBuffer(b)) return b;
  if (b instanceof Uint8Array) return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (typeof b === 'string') return Buffer.from(b, 'base64');
  return Buffer.alloc(0);
}

function compareNumbers(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Total order over indexable values (arrays and entities only by rank). */
export function compareValues(a: IValue, b: IValue): number {
  const ta = valueTypeOf(a);
  const tb = valueTypeOf(b);
  const ra = ta === undefined ? 0 : RANK[ta];
  const rb = tb === undefined ? 0 : RANK[tb];
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ta) {
    case 'integerValue':
      if (tb === 'integerValue') return compareIntStrings(intString(a), intString(b));
      return compareBig(BigInt(intString(a)), timestampMicros(b.timestampValue));
    case 'timestampValue':
      if (tb === 'timestampValue') return compareTimestamps(a.timestampValue, b.timestampValue);
      return compareBig(timestampMicros(a.timestampValue), BigInt(intString(b)));
    case 'booleanValue':
      return (a.booleanValue ? 1 : 0) - (b.booleanValue ? 1 : 0);
    case 'blobValue':
      return Buffer.compare(bytesOf(a), tb === 'blobValue' ? bytesOf(b) : Buffer.from(b.stringValue ?? '', 'utf8'));
    case 'stringValue':
      if (tb === 'stringValue') return compareUtf8(a.stringValue ?? '', b.stringValue ?? '');
      return Buffer.compare(Buffer.from(a.stringValue ?? '', 'utf8'), bytesOf(b));
    case 'doubleValue': {
      const x = doubleOf(a);
      const y = doubleOf(b);
      const nx = Number.isNaN(x);
      const ny = Number.isNaN(y);
      if (nx || ny) return nx && ny ? 0 : nx ? 1 : -1;
      // -0.0 and 0.0 are two values, -0 first (both Google emulators; `= -0.0` matches only -0).
      if (x === 0 && y === 0) return Object.is(x, y) ? 0 : Object.is(x, -0) ? -1 : 1;
      return compareNumbers(x, y);
    }
    case 'geoPointValue':
      return (
        compareNumbers(Number(a.geoPointValue?.latitude ?? 0), Number(b.geoPointValue?.latitude ?? 0)) ||
        compareNumbers(Number(a.geoPointValue?.longitude ?? 0), Number(b.geoPointValue?.longitude ?? 0))
      );
    case 'keyValue':
      return compareKeys(a.keyValue ?? {}, b.keyValue ?? {});
    default:
      return 0;
  }
}

function compareBig(x: bigint, y: bigint): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether a single (non-array) value can be an index entry at all. */
function indexableScalar(v: IValue): boolean {
  if (v.excludeFromIndexes) return false;
  const t = valueTypeOf(v);
  return t !== undefined && t !== 'entityValue' && t !== 'arrayValue';
}

const NO_VALUES: readonly IValue[] = Object.freeze([]);

function expand(v: IValue | undefined): readonly IValue[] {
  if (v === undefined || v === null) return NO_VALUES;
  if (valueTypeOf(v) === 'arrayValue') {
    if (v.excludeFromIndexes) return NO_VALUES;
    const out: IValue[] = [];
    for (const e of v.arrayValue?.values ?? []) if (indexableScalar(e)) out.push(e);
    return out;
  }
  return indexableScalar(v) ? [v] : NO_VALUES;
}

/**
 * The index entries of property `name` in `properties`: one per indexed
 * scalar value, array elements flattened. A name with dots that is not a
 * property itself reaches into embedded entities (`address.city`), which are
 * indexed unless the entity value (or the array holding it) is excluded.
 */
export function indexedValues(properties: Readonly<Record<string, IValue>>, name: string): readonly IValue[] {
  const direct = properties[name];
  if (direct !== undefined) return expand(direct);
  if (!name.includes('.')) return NO_VALUES;
  const parts = name.split('.');
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i).join('.');
    const v = properties[head];
    if (v === undefined) continue;
    const rest = parts.slice(i).join('.');
    const out: IValue[] = [];
    for (const ent of embeddedEntities(v)) out.push(...indexedValues(propsOf(ent), rest));
    return out;
  }
  return NO_VALUES;
}

function propsOf(e: IEntity): Readonly<Record<string, IValue>> {
  return (e.properties ?? {}) as Record<string, IValue>;
}

function embeddedEntities(v: IValue): IEntity[] {
  if (v.excludeFromIndexes) return [];
  const t = valueTypeOf(v);
  if (t === 'entityValue') return v.entityValue ? [v.entityValue] : [];
  if (t === 'arrayValue') {
    const out: IEntity[] = [];
    for (const e of v.arrayValue?.values ?? []) {
      if (!e.excludeFromIndexes && valueTypeOf(e) === 'entityValue' && e.entityValue) out.push(e.entityValue);
    }
    return out;
  }
  return [];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The value as a projection returns it, read from the index: every value
 * carries meaning 18 (index value), timestamps come back as their int64
 * microseconds, and a blob that is valid UTF-8 as a string — as both Google
 * emulators return them (the documentation is silent on the last).
 */
export function projectedValue(v: IValue): IValue {
  const t = valueTypeOf(v);
  if (t === 'timestampValue') {
    return { integerValue: timestampMicros(v.timestampValue).toString(), valueType: 'integerValue', meaning: 18 } as IValue;
  }
  if (t === 'blobValue') {
    const bytes = bytesOf(v);
    try {
      return { stringValue: utf8.decode(bytes), valueType: 'stringValue', meaning: 18 } as IValue;
    } catch {
      return { blobValue: bytes, valueType: 'blobValue', meaning: 18 } as IValue;
    }
  }
  return { ...v, meaning: 18, excludeFromIndexes: false };
}

/**
 * A cheap estimate of a value's encoded size, used only to cut RunQuery
 * batches by bytes the way Datastore does; not Google's size formula (the
 * store enforces that on write). Runs for every full result, so it reads
 * only `valueType` and the variable-length payloads.
 */
export function estimateValueSize(v: IValue): number {
  const t = (v as { valueType?: string }).valueType;
  if (t === 'stringValue') return 4 + (v.stringValue as string).length;
  if (t === 'blobValue') {
    const b = v.blobValue as unknown;
    return 4 + (typeof b === 'string' ? (b.length * 3) >>> 2 : (b as Uint8Array).length);
  }
  if (t === 'entityValue') return 4 + estimatePropertiesSize((v.entityValue?.properties ?? {}) as Record<string, IValue>);
  if (t === 'arrayValue') {
    const values = v.arrayValue?.values ?? [];
    let n = 4;
    for (let i = 0; i < values.length; i++) n += estimateValueSize(values[i]!);
    return n;
  }
  if (t === 'keyValue') return 8 + 24 * (v.keyValue?.path?.length ?? 0);
  if (t === undefined) return estimateUntyped(v);
  return 10;
}

function estimateUntyped(v: IValue): number {
  const t = valueTypeOf(v);
  return t === undefined ? 10 : estimateValueSize({ ...v, valueType: t } as IValue);
}

export function estimatePropertiesSize(properties: Readonly<Record<string, IValue>>): number {
  let n = 0;
  for (const name in properties) n += 4 + name.length + estimateValueSize(properties[name]!);
  return n;
}
