/**
 * The proto3 JSON mapping the REST API documents, for any message of the
 * services the emulator serves. A REST request is turned into the binary
 * protobuf the gRPC transport would have received and decoded by the same
 * deserializer, so both transports hand the service identical objects; a
 * response goes the other way through the same serializer. What protobufjs's
 * fromObject/toObject do not do is done here: well-known types
 * (Timestamp as RFC 3339, wrappers as bare values, NullValue as null),
 * snake_case field names, URL-safe base64, and a refusal of unknown fields.
 */
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import { formatTimestamp, parseTimestamp } from '../format/timestamp.js';
import { invalidArgument } from './rpc-error.js';

const require = createRequire(import.meta.url);

let root: Protobuf.Root | undefined;

/** The protobufjs root of Datastore's protos (the one @google-cloud/datastore ships), loaded once. */
export function protoRoot(): Protobuf.Root {
  if (root !== undefined) return root;
  // protobufjs is @google-cloud/datastore's dependency: resolve it from there.
  const fromDatastore = createRequire(require.resolve('@google-cloud/datastore'));
  const protobuf = fromDatastore('protobufjs') as typeof Protobuf;
  root = protobuf.Root.fromJSON(require('@google-cloud/datastore/build/protos/protos.json') as Protobuf.INamespace);
  root.resolveAll();
  return root;
}

/** Google's wording for a body that does not parse as the request message. */
export const INVALID_PAYLOAD = "Payload isn't valid for request.";

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((t) => `.google.protobuf.${t}Value`),
);
const TIMESTAMP = '.google.protobuf.Timestamp';
const NULL_VALUE = '.google.protobuf.NullValue';

const bad = (where: string, what: string) => invalidArgument(`${INVALID_PAYLOAD} (${what}${where ? ` at ${where}` : ''})`);
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A REST JSON body as the object `type.fromObject` takes. */
function fromJson(type: Protobuf.Type, json: unknown, where: string): Record<string, unknown> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad(where, `expected an object for ${type.name}`);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    const field = type.fields[name] ?? type.fields[camel(name)];
    const at = where ? `${where}.${name}` : name;
    if (field === undefined) throw bad(where, `unknown field "${name}"`);
    if (value === null) {
      // null is the default of any field, except a NullValue where it is the value.
      if (field.resolvedType?.fullName === NULL_VALUE && !field.repeated) out[field.name] = 'NULL_VALUE';
      continue;
    }
    if (field.map) {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad(at, 'expected an object');
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as object)) map[k] = fieldFromJson(field, v, `${at}.${k}`);
      out[field.name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw bad(at, 'expected an array');
      out[field.name] = value.map((v, i) => fieldFromJson(field, v, `${at}[${i}]`));
    } else {
      out[field.name] = fieldFromJson(field, value, at);
    }
  }
  return out;
}

function fieldFromJson(field: Protobuf.Field, value: unknown, where: string): unknown {
  const resolved = field.resolvedType;
  if (resolved === null) {
    if (field.type === 'bytes') {
      if (typeof value !== 'string') throw bad(where, 'expected base64 text');
      return value.replace(/-/g, '+').replace(/_/g, '/');
    }
    if (typeof value === 'object') throw bad(where, `expected a ${field.type}`);
    return value;
  }
  const full = resolved.fullName;
  if (full === NULL_VALUE) return 'NULL_VALUE';
  if ('values' in resolved) return value; // an enum: names and numbers both work with fromObject
  if (full === TIMESTAMP) {
    if (typeof value !== 'string') throw bad(where, 'expected an RFC 3339 timestamp');
    const ts = parseTimestamp(value);
    if (typeof ts === 'string') throw bad(where, ts);
    return { seconds: String(ts.seconds), nanos: ts.nanos };
  }
  if (WRAPPERS.has(full)) return { value };
  return fromJson(resolved as Protobuf.Type, value, where);
}

/** A decoded message's toObject output in the REST JSON form. */
function toJson(type: Protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(obj)) {
    const field = type.fields[name];
    if (field === undefined || value === undefined) continue;
    // proto3 JSON leaves out a scalar at its default, except a oneof member (its presence is the value).
    if (field.partOf === null && !field.repeated && isDefault(field, value)) continue;
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as object)) map[k] = fieldToJson(field, v);
      out[name] = map;
    } else if (field.repeated) {
      out[name] = (value as unknown[]).map((v) => fieldToJson(field, v));
    } else {
      out[name] = fieldToJson(field, value);
    }
  }
  return out;
}

function isDefault(field: Protobuf.Field, value: unknown): boolean {
  const resolved = field.resolvedType;
  if (resolved !== null && !('values' in resolved)) return false; // a message: present means set
  if (resolved !== null) return value === Object.keys((resolved as Protobuf.Enum).values)[0] || value === 0;
  return value === false || value === 0 || value === '' || value === '0';
}

function fieldToJson(field: Protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved === null || 'values' in resolved) {
    if (resolved?.fullName === NULL_VALUE) return null;
    return value;
  }
  const full = resolved.fullName;
  if (full === TIMESTAMP) {
    const ts = value as { seconds?: string | number; nanos?: number };
    return formatTimestamp(Number(ts.seconds ?? 0), ts.nanos ?? 0);
  }
  if (WRAPPERS.has(full)) return (value as { value?: unknown }).value ?? null;
  return toJson(resolved as Protobuf.Type, value as Record<string, unknown>);
}

export function messageType(fullName: string): Protobuf.Type {
  return protoRoot().lookupType(fullName);
}

/** A REST request body (parsed JSON) as the binary message gRPC would have carried. */
export function encodeJsonRequest(typeName: string, json: unknown): Buffer {
  const type = messageType(typeName);
  const object = fromJson(type, json ?? {}, '');
  const problem = type.verify(type.fromObject(object));
  if (problem !== null) throw bad('', problem);
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

/** A binary response message as its REST JSON object. */
export function decodeToJson(typeName: string, buffer: Uint8Array): Record<string, unknown> {
  const type = messageType(typeName);
  const object = type.toObject(type.decode(buffer), { longs: String, enums: String, bytes: String, json: true });
  return toJson(type, object);
}
