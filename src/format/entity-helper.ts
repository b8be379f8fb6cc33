/**
 * A small typed view over a raw Datastore entity, for migration scripts: get
 * and set properties as plain JS values without writing protobuf shapes, while
 * each property keeps its `excludeFromIndexes` and (when the type stays the
 * same) its `meaning`.
 *
 * JS ⇄ Datastore:
 *   string ⇄ string            boolean ⇄ boolean        null ⇄ null
 *   bigint ⇄ integer (int64, exact; write `5n`)
 *   number ⇄ double (always: a number is never silently turned into an integer)
 *   Timestamp (a Date that also keeps microseconds) ⇄ timestamp; any Date may be set
 *   Buffer ⇄ blob (a Uint8Array may be set)   GeoPoint ⇄ geo point
 *   { path: [...], partitionId? } ⇄ key       arrays ⇄ array
 *   EntityHelper ⇄ embedded entity (a plain object may be set; its values convert the same way)
 *
 * `get` returns copies: change an embedded entity or array, then `set` it back.
 */
import type { IEntity, IKey, ILatLng, IValue } from '../model/proto.js';
import { valueTypeOf, type ValueTypeName } from '../model/value-types.js';

/** A Date that remembers the microseconds Datastore stores below the millisecond. */
export class Timestamp extends Date {
  /** Microseconds beyond the millisecond, 0..999. */
  readonly micros: number;

  constructor(epochMs: number, micros = 0) {
    super(epochMs);
    if (!Number.isInteger(micros) || micros < 0 || micros > 999) throw new RangeError(`micros must be 0..999, got ${micros}`);
    this.micros = micros;
  }

  static fromProto(ts: { seconds?: unknown; nanos?: unknown } | null | undefined): Timestamp {
    const seconds = Number(String(ts?.seconds ?? 0));
    const nanos = Number(ts?.nanos ?? 0);
    return new Timestamp(seconds * 1000 + Math.floor(nanos / 1e6), Math.floor(nanos / 1000) % 1000);
  }

  static fromDate(date: Date): Timestamp {
    return date instanceof Timestamp ? date : new Timestamp(date.getTime());
  }

  toProto(): { seconds: string; nanos: number } {
    const ms = this.getTime();
    if (Number.isNaN(ms)) throw new RangeError('invalid date');
    const seconds = Math.floor(ms / 1000);
    return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 + this.micros * 1000 };
  }

  /** RFC 3339 in UTC with all six fractional digits. */
  toRfc3339(): string {
    return `${this.toISOString().slice(0, -1)}${String(this.micros).padStart(3, '0')}Z`;
  }
}

export class GeoPoint {
  constructor(readonly latitude: number, readonly longitude: number) {}
}

export type JsValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Date
  | Uint8Array
  | GeoPoint
  | IKey
  | EntityHelper
  | JsValue[]
  | { [name: string]: JsValue };

export interface SetOptions {
  /** Defaults to the replaced value's setting (false for a new property). */
  excludeFromIndexes?: boolean;
  /** Defaults to the replaced value's meaning when the type is unchanged. */
  meaning?: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isKeyLike(value: object): value is IKey {
  const names = Object.keys(value);
  return (
    Array.isArray((value as IKey).path) &&
    names.every((n) => n === 'path' || n === 'partitionId') &&
    (value as IKey).path!.every((e) => typeof e === 'object' && e !== null && typeof e.kind === 'string')
  );
}

function isExcluded(value: IValue | undefined): boolean {
  if (value === undefined) return false;
  if (value.excludeFromIndexes === true) return true;
  // An array carries the flag on its elements (Datastore refuses it on the array itself).
  const values = valueTypeOf(value) === 'array' ? (value.arrayValue?.values ?? []) : [];
  return values.length > 0 && values.every((v) => v.excludeFromIndexes === true);
}

/** Converts a JS value to a Datastore Value; `path` names it in errors. */
export function toValue(js: JsValue, path = 'value', excludeFromIndexes = false, inArray = false): IValue {
  const out = (v: IValue): IValue => (excludeFromIndexes ? { ...v, excludeFromIndexes: true } : v);
  if (js === null) return out({ nullValue: 'NULL_VALUE' });
  switch (typeof js) {
    case 'string':
      return out({ stringValue: js });
    case 'boolean':
      return out({ booleanValue: js });
    case 'bigint':
      if (js < INT64_MIN || js > INT64_MAX) throw new RangeError(`${path}: ${js} does not fit in a 64-bit integer`);
      return out({ integerValue: String(js) });
    case 'number':
      return out({ doubleValue: js });
    case 'object':
      break;
    default:
      throw new TypeError(`${path}: cannot store a ${typeof js} in Datastore`);
  }
  if (js instanceof Date) return out({ timestampValue: Timestamp.fromDate(js).toProto() });
  if (js instanceof Uint8Array) return out({ blobValue: Buffer.from(js) });
  if (js instanceof GeoPoint) return out({ geoPointValue: { latitude: js.latitude, longitude: js.longitude } });
  if (js instanceof EntityHelper) return out({ entityValue: js.toEntity() });
  if (Array.isArray(js)) {
    if (inArray) throw new TypeError(`${path}: Datastore arrays cannot contain arrays`);
    return { arrayValue: { values: js.map((v, i) => toValue(v, `${path}[${i}]`, excludeFromIndexes, true)) } };
  }
  if (isKeyLike(js)) return out({ keyValue: js });
  const properties: Record<string, IValue> = {};
  for (const [name, v] of Object.entries(js)) {
    if (v === undefined) continue;
    properties[name] = toValue(v, `${path}.${name}`);
  }
  return out({ entityValue: { properties } });
}

/** Converts a Datastore Value to its JS value (see the table above). */
export function fromValue(value: IValue): JsValue {
  switch (valueTypeOf(value)) {
    case 'null':
      return null;
    case 'boolean':
      return value.booleanValue === true;
    case 'integer':
      return BigInt(String(value.integerValue));
    case 'double':
      return Number(value.doubleValue);
    case 'timestamp':
      return Timestamp.fromProto(value.timestampValue as { seconds?: unknown; nanos?: unknown });
    case 'string':
      return value.stringValue ?? '';
    case 'blob': {
      const b = value.blobValue;
      return typeof b === 'string' ? Buffer.from(b, 'base64') : Buffer.from(b ?? []);
    }
    case 'key':
      return value.keyValue ?? {};
    case 'geoPoint': {
      const g = value.geoPointValue as ILatLng;
      return new GeoPoint(Number(g?.latitude ?? 0), Number(g?.longitude ?? 0));
    }
    case 'entity':
      return new EntityHelper(value.entityValue ?? {});
    case 'array':
      return (value.arrayValue?.values ?? []).map(fromValue);
  }
}

function cloneKey(key: IKey): IKey {
  const copy: IKey = { ...key, path: (key.path ?? []).map((e) => ({ ...e })) };
  if (key.partitionId) copy.partitionId = { ...key.partitionId };
  return copy;
}

export class EntityHelper {
  readonly key: IKey | null;
  private readonly props: Record<string, IValue>;

  constructor(raw: IEntity) {
    // A copy: a script changing the key in place must not move the entity it was given.
    this.key = raw.key ? cloneKey(raw.key) : null;
    this.props = { ...(raw.properties ?? {}) };
  }

  /** The kind (last path element's), or undefined for a keyless embedded entity. */
  get kind(): string | undefined {
    const path = this.key?.path;
    return path && path.length > 0 ? (path[path.length - 1]!.kind ?? undefined) : undefined;
  }

  get namespace(): string {
    return this.key?.partitionId?.namespaceId ?? '';
  }

  /** Property names in stored order. */
  names(): string[] {
    return Object.keys(this.props);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.props, name);
  }

  type(name: string): ValueTypeName | undefined {
    const v = this.props[name];
    return v === undefined || !this.has(name) ? undefined : valueTypeOf(v);
  }

  /** The property as a JS value; undefined when the entity does not have it. */
  get(name: string): JsValue | undefined {
    return this.has(name) ? fromValue(this.props[name]!) : undefined;
  }

  /** Like get, as a number for integer or double properties (integers beyond 2^53 lose precision). */
  getNumber(name: string): number | undefined {
    const v = this.get(name);
    return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined;
  }

  getRaw(name: string): IValue | undefined {
    return this.has(name) ? this.props[name] : undefined;
  }

  setRaw(name: string, value: IValue): this {
    this.props[name] = value;
    return this;
  }

  set(name: string, js: JsValue, options: SetOptions = {}): this {
    if (js === undefined) throw new TypeError(`${name}: cannot set undefined (use delete)`);
    const prev = this.getRaw(name);
    const exclude = options.excludeFromIndexes ?? isExcluded(prev);
    const value = toValue(js, name, exclude);
    const meaning = options.meaning ?? (prev !== undefined && prev.meaning && valueTypeOf(prev) === valueTypeOf(value) ? prev.meaning : undefined);
    if (meaning) value.meaning = meaning;
    this.props[name] = value;
    return this;
  }

  isExcludedFromIndexes(name: string): boolean {
    return isExcluded(this.getRaw(name));
  }

  /** Returns false when the property was not there. */
  delete(name: string): boolean {
    if (!this.has(name)) return false;
    delete this.props[name];
    return true;
  }

  /**
   * Moves a property's stored value (type, index flag, meaning) to a new
   * name. Returns false when `from` is absent; throws when `to` exists, as
   * silently overwriting data is never what a rename means.
   */
  rename(from: string, to: string): boolean {
    if (!this.has(from)) return false;
    if (from === to) return true;
    if (this.has(to)) throw new Error(`cannot rename ${JSON.stringify(from)} to ${JSON.stringify(to)}: the entity already has ${JSON.stringify(to)}`);
    this.props[to] = this.props[from]!;
    delete this.props[from];
    return true;
  }

  /** The raw entity, for writing back. */
  toEntity(): IEntity {
    const entity: IEntity = { properties: { ...this.props } };
    if (this.key !== null) entity.key = this.key;
    return entity;
  }
}

/** Wraps a raw entity (what migration scripts receive). */
export function wrapEntity(raw: IEntity): EntityHelper {
  return new EntityHelper(raw);
}
