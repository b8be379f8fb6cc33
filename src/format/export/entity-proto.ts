/**
 * App Engine `EntityProto` (storage_onestore_v3, proto2 with groups) <-> the
 * v1 entity the rest of dspipe carries (MANAGED-EXPORT-FORMAT.md §5, §6).
 *
 * Decoding produces exactly the shape `decodeEntity` (the dump line codec)
 * produces: proto-loader's, with int64 as decimal strings, `valueType`, and
 * `meaning` / `excludeFromIndexes` defaults. Encoding accepts that shape (and
 * the looser request shapes `encodeEntity` takes) and writes fields the way
 * Google's exporter does, byte for byte: field-number order, every proto2
 * required field present at every level, indexed values in `property`,
 * excluded ones in `raw_property`, one entry per array element.
 *
 * What the format cannot hold is reported through `onLossy` (the caller warns,
 * or refuses under --strict); what it cannot express at all (an array inside
 * an array) is refused.
 */
import { isUtf8 } from 'node:buffer';
import { DspipeError } from '../../errors.js';
import { MAX_ENTITY_DEPTH } from '../../model/limits.js';
import type { IEntity } from '../../model/proto.js';
import { valueFieldOf } from '../../model/value-types.js';
import { ProtoReader, ProtoWriter, WireError, WIRE_END_GROUP, WIRE_FIXED64, WIRE_LEN, WIRE_START_GROUP, WIRE_VARINT } from './wire.js';

// v3 Property.Meaning values used here.
const GD_WHEN = 7;
const GEORSS_POINT = 9;
const BLOB = 14;
const BYTESTRING = 16;
const ENTITY_PROTO = 19;
const EMPTY_LIST = 24;
// v1-only meanings.
const V1_USER = 20;
const V1_ZLIB = 22;
const V1_POINT_WITHOUT_MEANING = 23;
/** v3 meanings a Datastore-mode export holds; others (18 INDEX_VALUE, 31+ from newer SDKs) are refused, not guessed. */
const KNOWN_V3_MEANINGS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 24]);

/** Timestamps Datastore holds, in µs: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
const MIN_MICROS = -62135596800000000n;
const MAX_MICROS = 253402300799999999n;

/** Something the export format cannot keep as the entity has it. */
export interface LossyCorner {
  reason: 'array-order' | 'foreign-project-key' | 'user-value' | 'integer-when';
  /** Property path inside the entity, e.g. `tags` or `owner.ref`. */
  path: string;
  message: string;
}

export interface EncodeEntityOptions {
  /** Project written as `app` when the entity's key has no projectId. */
  project?: string;
  /** Called for each value the format keeps only approximately (see LossyCorner). */
  onLossy?: (corner: LossyCorner) => void;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Loose = any;

// ---------------------------------------------------------------------------
// Encoding: v1 -> EntityProto bytes.

function refuse(message: string, path: string): never {
  throw new DspipeError('DSPIPE_REJECTED_ENTITY', `cannot write to a managed export: ${message}`, { path });
}

function idText(id: Loose): string | undefined {
  if (id === null || id === undefined) return undefined;
  const s = typeof id === 'string' ? id : String(id);
  return s === '' || s === '0' ? undefined : s;
}

function hasName(e: Loose): boolean {
  return typeof e.name === 'string' && e.name !== '';
}

/** One path element group: kind, then the id or the name, under the given field numbers. */
function writeElement(w: ProtoWriter, e: Loose, group: number, kindField: number, idField: number, nameField: number): void {
  w.tag(group, WIRE_START_GROUP);
  w.tag(kindField, WIRE_LEN);
  w.string(e.kind ?? '');
  const id = idText(e.id);
  if (id !== undefined) {
    w.tag(idField, WIRE_VARINT);
    w.int64(id);
  } else if (hasName(e)) {
    w.tag(nameField, WIRE_LEN);
    w.string(e.name);
  }
  w.tag(group, WIRE_END_GROUP);
}

/** Path message body: Element groups (field 1) of type 2, id 3, name 4. */
function writePathBody(w: ProtoWriter, path: readonly Loose[]): void {
  for (const e of path) writeElement(w, e, 1, 2, 3, 4);
}

/** name_space 20 and database_id 23 (Reference and ReferenceValue alike), omitted when empty. */
function writePartition(w: ProtoWriter, key: Loose): void {
  const ns = key?.partitionId?.namespaceId;
  if (ns) {
    w.tag(20, WIRE_LEN);
    w.string(ns);
  }
  const db = key?.partitionId?.databaseId;
  if (db) {
    w.tag(23, WIRE_LEN);
    w.string(db);
  }
}

function isComplete(e: Loose): boolean {
  return idText(e.id) !== undefined || hasName(e);
}

/** Reference body: app 13, path 14, name_space 20, database_id 23. */
function writeReferenceBody(w: ProtoWriter, key: Loose, app: string): void {
  w.tag(13, WIRE_LEN);
  w.string(app);
  w.tag(14, WIRE_LEN);
  const p = w.beginLen();
  writePathBody(w, key?.path ?? []);
  w.endLen(p);
  writePartition(w, key);
}

interface EncodeState {
  project: string;
  onLossy: ((c: LossyCorner) => void) | undefined;
}

function joinPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

/** EntityProto body: key 13, property 14*, raw_property 15*, entity_group 16. */
function writeEntityBody(w: ProtoWriter, entity: Loose, key: Loose, app: string, st: EncodeState, depth: number, path: string): void {
  if (depth > MAX_ENTITY_DEPTH) refuse(`entity values nested deeper than ${MAX_ENTITY_DEPTH}`, path);
  w.tag(13, WIRE_LEN);
  let b = w.beginLen();
  writeReferenceBody(w, key, app);
  w.endLen(b);
  const raw: Array<[string, Loose, boolean]> = [];
  const props = entity.properties ?? {};
  for (const name of Object.keys(props)) {
    const v = props[name];
    const at = joinPath(path, name);
    if (valueFieldOf(v) === 'arrayValue') {
      const values: Loose[] = v.arrayValue?.values ?? [];
      if (values.length === 0) {
        w.tag(14, WIRE_LEN);
        const p = w.beginLen();
        w.tag(1, WIRE_VARINT);
        w.uint(EMPTY_LIST);
        w.tag(3, WIRE_LEN);
        w.string(name);
        w.tag(4, WIRE_VARINT);
        w.uint(0);
        w.tag(5, WIRE_LEN);
        w.uint(0);
        w.endLen(p);
        continue;
      }
      let sawExcluded = false;
      let reordered = false;
      for (let i = 0; i < values.length; i++) {
        const e = values[i];
        if (valueFieldOf(e) === 'arrayValue') refuse('an array inside an array has no form in the export format', `${at}[${i}]`);
        if (e.excludeFromIndexes === true) {
          sawExcluded = true;
          raw.push([name, e, true]);
        } else {
          if (sawExcluded) reordered = true;
          writeProperty(w, 14, name, e, true, st, depth, `${at}[${i}]`);
        }
      }
      if (reordered) {
        st.onLossy?.({
          reason: 'array-order',
          path: at,
          message: 'the array mixes indexed and unindexed values: the export keeps the indexed ones first, so their order changes',
        });
      }
    } else if (v?.excludeFromIndexes === true) raw.push([name, v, false]);
    else writeProperty(w, 14, name, v, false, st, depth, at);
  }
  for (const [name, v, multiple] of raw) writeProperty(w, 15, name, v, multiple, st, depth, joinPath(path, name));
  w.tag(16, WIRE_LEN);
  b = w.beginLen();
  const kp: Loose[] = key?.path ?? [];
  if (kp.length > 0 && isComplete(kp[kp.length - 1])) writePathBody(w, [kp[0]]);
  w.endLen(b);
}

function timestampMicros(ts: Loose): string | number {
  const seconds = ts?.seconds ?? 0;
  const nanos = Number(ts?.nanos ?? 0);
  const micros = Math.floor(nanos / 1000);
  const s = typeof seconds === 'number' ? seconds : Number(String(seconds));
  if (Math.abs(s) < 9e9) return s * 1e6 + micros;
  return (BigInt(String(seconds)) * 1000000n + BigInt(micros)).toString();
}

function blobBytes(b: Loose): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (typeof b === 'string') return Buffer.from(b, 'base64');
  return new Uint8Array(0);
}

function writeProperty(w: ProtoWriter, field: 14 | 15, name: string, v: Loose, multiple: boolean, st: EncodeState, depth: number, path: string): void {
  const vf = valueFieldOf(v ?? {});
  const m1: number = v?.meaning ?? 0;
  const excluded = field === 15;
  let meaning = m1;
  let zlib = false;
  let user = false;
  switch (vf) {
    case 'timestampValue':
      meaning = GD_WHEN;
      break;
    case 'blobValue':
      if (m1 === V1_ZLIB) {
        zlib = true;
        meaning = excluded ? BLOB : BYTESTRING;
      } else meaning = excluded && m1 !== BYTESTRING ? BLOB : BYTESTRING;
      break;
    case 'geoPointValue':
      meaning = m1 === V1_POINT_WITHOUT_MEANING ? 0 : GEORSS_POINT;
      break;
    case 'entityValue':
      user = m1 === V1_USER;
      meaning = user ? 0 : ENTITY_PROTO;
      break;
    case 'integerValue':
      if (m1 === GD_WHEN) {
        const n = BigInt(String(v.integerValue));
        if (n >= MIN_MICROS && n <= MAX_MICROS) {
          st.onLossy?.({ reason: 'integer-when', path, message: 'an integer with meaning 7 inside the timestamp range reads back as a timestamp' });
        }
      }
      break;
  }
  w.tag(field, WIRE_LEN);
  const p = w.beginLen();
  if (meaning !== 0) {
    w.tag(1, WIRE_VARINT);
    w.uint(meaning);
  }
  if (zlib) {
    w.tag(2, WIRE_LEN);
    w.string('ZLIB');
  }
  w.tag(3, WIRE_LEN);
  w.string(name);
  w.tag(4, WIRE_VARINT);
  w.uint(multiple ? 1 : 0);
  w.tag(5, WIRE_LEN);
  const pv = w.beginLen();
  switch (vf) {
    case undefined:
    case 'nullValue':
      break;
    case 'booleanValue':
      w.tag(2, WIRE_VARINT);
      w.uint(v.booleanValue ? 1 : 0);
      break;
    case 'integerValue':
      w.tag(1, WIRE_VARINT);
      w.int64(v.integerValue);
      break;
    case 'doubleValue': {
      const d = v.doubleValue;
      w.tag(4, WIRE_FIXED64);
      w.double(typeof d === 'number' ? d : d === 'NaN' ? NaN : d === 'Infinity' ? Infinity : d === '-Infinity' ? -Infinity : Number(d));
      break;
    }
    case 'timestampValue':
      w.tag(1, WIRE_VARINT);
      w.int64(timestampMicros(v.timestampValue));
      break;
    case 'stringValue':
      w.tag(3, WIRE_LEN);
      w.string(v.stringValue);
      break;
    case 'blobValue':
      w.tag(3, WIRE_LEN);
      w.bytes(blobBytes(v.blobValue));
      break;
    case 'geoPointValue':
      w.tag(5, WIRE_START_GROUP);
      w.tag(6, WIRE_FIXED64);
      w.double(Number(v.geoPointValue?.latitude ?? 0));
      w.tag(7, WIRE_FIXED64);
      w.double(Number(v.geoPointValue?.longitude ?? 0));
      w.tag(5, WIRE_END_GROUP);
      break;
    case 'keyValue':
      writeReferenceValue(w, v.keyValue, st, path);
      break;
    case 'entityValue':
      if (user) writeUserValue(w, v.entityValue, st, path);
      else {
        const ev = v.entityValue ?? {};
        const k = ev.key ?? null;
        const kp: Loose[] = k?.path ?? [];
        if (kp.length > 0) checkProject(k, st, `${path}.__key__`);
        w.tag(3, WIRE_LEN);
        const e = w.beginLen();
        writeEntityBody(w, ev, kp.length > 0 ? k : null, kp.length > 0 ? (k.partitionId?.projectId ?? '') : '', st, depth + 1, path);
        w.endLen(e);
      }
      break;
    case 'arrayValue':
      refuse('an array inside an array has no form in the export format', path);
  }
  w.endLen(pv);
  w.endLen(p);
}

function checkProject(key: Loose, st: EncodeState, path: string): void {
  const project = key?.partitionId?.projectId;
  if (project && project !== st.project) {
    st.onLossy?.({
      reason: 'foreign-project-key',
      path,
      message: `the key points into project ${JSON.stringify(project)}: Google's importer rewrites indexed keys to the target project`,
    });
  }
}

/** ReferenceValue group 12: app 13, PathElement groups 14 (type 15, id 16, name 17), name_space 20, database_id 23. */
function writeReferenceValue(w: ProtoWriter, key: Loose, st: EncodeState, path: string): void {
  checkProject(key, st, path);
  w.tag(12, WIRE_START_GROUP);
  w.tag(13, WIRE_LEN);
  w.string(key?.partitionId?.projectId || st.project);
  for (const e of key?.path ?? []) writeElement(w, e, 14, 15, 16, 17);
  writePartition(w, key);
  w.tag(12, WIRE_END_GROUP);
}

/** UserValue group 8: email 9, auth_domain 10, gaiaid 18 (required), obfuscated_gaiaid 19, federated 21/22. */
function writeUserValue(w: ProtoWriter, ev: Loose, st: EncodeState, path: string): void {
  st.onLossy?.({ reason: 'user-value', path, message: 'a user value (meaning 20) becomes an App Engine UserValue; Google\'s importer may add a user_id' });
  const props = ev?.properties ?? {};
  const str = (n: string): string | undefined => {
    const v = props[n];
    return typeof v?.stringValue === 'string' ? v.stringValue : undefined;
  };
  w.tag(8, WIRE_START_GROUP);
  w.tag(9, WIRE_LEN);
  w.string(str('email') ?? '');
  w.tag(10, WIRE_LEN);
  w.string(str('auth_domain') ?? '');
  w.tag(18, WIRE_VARINT);
  w.int64(str('internal_id') ?? '0');
  const uid = str('user_id');
  if (uid !== undefined) {
    w.tag(19, WIRE_LEN);
    w.string(uid);
  }
  const fi = str('federated_identity');
  if (fi !== undefined) {
    w.tag(21, WIRE_LEN);
    w.string(fi);
  }
  const fp = str('federated_provider');
  if (fp !== undefined) {
    w.tag(22, WIRE_LEN);
    w.string(fp);
  }
  w.tag(8, WIRE_END_GROUP);
}

const shared = new ProtoWriter(64 * 1024);

/**
 * One entity as EntityProto bytes (a fresh Buffer). The key must be complete;
 * its projectId (or `options.project`) becomes `app`.
 */
export function encodeEntityProto(entity: IEntity, options: EncodeEntityOptions = {}): Buffer {
  const key = entity.key as Loose;
  const path: Loose[] = key?.path ?? [];
  if (path.length === 0 || !isComplete(path[path.length - 1])) refuse('the entity key is missing or incomplete', '__key__');
  const app = key.partitionId?.projectId || options.project || '';
  if (app === '') refuse('the entity key has no project id (Google\'s importer needs one): pass a project', '__key__');
  const st: EncodeState = { project: app, onLossy: options.onLossy };
  const w = shared;
  w.reset();
  try {
    writeEntityBody(w, entity, key, app, st, 0, '');
    return w.finish();
  } finally {
    if (w.buf.length > 4 * 1024 * 1024) shared.buf = Buffer.allocUnsafe(64 * 1024);
  }
}

// ---------------------------------------------------------------------------
// Decoding: EntityProto bytes -> v1 entity (proto-loader shape).

function stripApp(app: string): string {
  const i = app.lastIndexOf('~');
  return i < 0 ? app : app.slice(i + 1);
}

function partition(app: string, ns: string, db: string): Loose {
  return { projectId: stripApp(app), databaseId: db, namespaceId: ns };
}

function element(kind: string, id: string | undefined, name: string | undefined): Loose {
  if (id !== undefined && id !== '0') return { kind, id, idType: 'id' };
  if (name !== undefined) return { kind, name, idType: 'name' };
  return { kind };
}

/**
 * One path element group (after its start tag) up to `endTag`: kind, id and
 * name under the given tags (Path.Element 2/3/4, ReferenceValue.PathElement 15/16/17).
 */
function readElement(r: ProtoReader, endTag: number, kindTag: number, idTag: number, nameTag: number): Loose {
  let kind = '';
  let id: string | undefined;
  let name: string | undefined;
  for (;;) {
    if (r.done()) throw new WireError('a path element group has no end');
    const u = r.uint();
    if (u === endTag) break;
    if (u === kindTag) kind = r.string();
    else if (u === idTag) id = r.int64();
    else if (u === nameTag) name = r.string();
    else r.skip(u & 7, u >>> 3);
  }
  return element(kind, id, name);
}

const tag = (field: number, wire: number) => (field << 3) | wire;

/** Path body: Element groups (field 1). */
function readPath(r: ProtoReader): Loose[] {
  const out: Loose[] = [];
  while (!r.done()) {
    const t = r.uint();
    if (t === tag(1, WIRE_START_GROUP)) out.push(readElement(r, tag(1, WIRE_END_GROUP), tag(2, WIRE_LEN), tag(3, WIRE_VARINT), tag(4, WIRE_LEN)));
    else r.skip(t & 7, t >>> 3);
  }
  return out;
}

/**
 * The fields Reference and ReferenceValue share (app 13, name_space 20,
 * database_id 23), with the path read by `pathField`: a Reference message
 * body (endTag -1: to the end) or a ReferenceValue group (to its end tag).
 */
function readKeyFields(r: ProtoReader, endTag: number, pathField: (t: number, path: Loose[]) => boolean): { app: string; key: Loose } {
  let app = '';
  const path: Loose[] = [];
  let ns = '';
  let db = '';
  for (;;) {
    if (r.done()) {
      if (endTag < 0) break;
      throw new WireError('ReferenceValue group has no end');
    }
    const t = r.uint();
    if (t === endTag) break;
    if (t === tag(13, WIRE_LEN)) app = r.string();
    else if (t === tag(20, WIRE_LEN)) ns = r.string();
    else if (t === tag(23, WIRE_LEN)) db = r.string();
    else if (!pathField(t, path)) r.skip(t & 7, t >>> 3);
  }
  return { app, key: { path, partitionId: partition(app, ns, db) } };
}

/** Reference message body: path 14 is a Path message. */
function readReference(r: ProtoReader): { app: string; key: Loose } {
  return readKeyFields(r, -1, (t, path) => {
    if (t !== tag(14, WIRE_LEN)) return false;
    const [s, e] = r.len();
    path.push(...readPath(new ProtoReader(r.buf, s, e)));
    return true;
  });
}

/** ReferenceValue group body (after its start tag): PathElement groups 14 of type 15, id 16, name 17. */
function readReferenceValue(r: ProtoReader): Loose {
  return readKeyFields(r, tag(12, WIRE_END_GROUP), (t, path) => {
    if (t !== tag(14, WIRE_START_GROUP)) return false;
    path.push(readElement(r, tag(14, WIRE_END_GROUP), tag(15, WIRE_LEN), tag(16, WIRE_VARINT), tag(17, WIRE_LEN)));
    return true;
  }).key;
}

// One constructor per value shape, in proto-loader's field order (meaning, excludeFromIndexes, the value,
// valueType): V8 keeps each shape monomorphic, and constructors are not pretenured the way literal
// allocation sites are (see the same note in ../entity-codec.ts).
type ValueCtor = new (meaning: number, excludeFromIndexes: boolean, v: unknown) => Loose;
function valueShape(field: string): ValueCtor {
  const ctor = new Function('m', 'x', 'v', `this.meaning = m; this.excludeFromIndexes = x; this.${field} = v; this.valueType = '${field}';`) as unknown as ValueCtor;
  (ctor as unknown as { prototype: object }).prototype = Object.prototype;
  return ctor;
}
const SHAPES: Record<string, ValueCtor> = Object.fromEntries(
  ['nullValue', 'booleanValue', 'integerValue', 'doubleValue', 'timestampValue', 'keyValue', 'stringValue', 'blobValue', 'geoPointValue', 'entityValue', 'arrayValue'].map((f) => [f, valueShape(f)]),
);
const StringValue = SHAPES.stringValue!;
const IntegerValue = SHAPES.integerValue!;

function val(meaning: number, excludeFromIndexes: boolean, field: string, v: unknown): Loose {
  return new SHAPES[field]!(meaning, excludeFromIndexes, v);
}

/** UTF-8 text of buf[s, e), or undefined when it is not valid UTF-8 (then it is a blob). */
function utf8(buf: Buffer, s: number, e: number): string | undefined {
  const text = buf.toString('utf8', s, e);
  // Invalid bytes decode to U+FFFD; only then is the slower check needed (a real U+FFFD is valid).
  if (text.indexOf('\uFFFD') < 0 || isUtf8(buf.subarray(s, e))) return text;
  return undefined;
}

function microsToTimestamp(us: string): Loose {
  const n = Number(us);
  if (Number.isSafeInteger(n)) {
    const seconds = Math.floor(n / 1e6);
    return { seconds: String(seconds), nanos: (n - seconds * 1e6) * 1000 };
  }
  const b = BigInt(us);
  let s = b / 1000000n;
  if (b < 0n && s * 1000000n !== b) s -= 1n;
  return { seconds: s.toString(), nanos: Number(b - s * 1000000n) * 1000 };
}

function readUserValue(r: ProtoReader): Loose {
  const props: Loose = {};
  const put = (name: string, s: string) => {
    props[name] = val(0, true, 'stringValue', s);
  };
  let email: string | undefined;
  let authDomain: string | undefined;
  let gaia = '0';
  let obfuscated: string | undefined;
  let fedId: string | undefined;
  let fedProvider: string | undefined;
  for (;;) {
    if (r.done()) throw new WireError('UserValue group has no end');
    const t = r.uint();
    if (t === ((8 << 3) | WIRE_END_GROUP)) break;
    if (t === ((9 << 3) | WIRE_LEN)) email = r.string();
    else if (t === ((10 << 3) | WIRE_LEN)) authDomain = r.string();
    else if (t === ((18 << 3) | WIRE_VARINT)) gaia = r.int64();
    else if (t === ((19 << 3) | WIRE_LEN)) obfuscated = r.string();
    else if (t === ((21 << 3) | WIRE_LEN)) fedId = r.string();
    else if (t === ((22 << 3) | WIRE_LEN)) fedProvider = r.string();
    else r.skip(t & 7, t >>> 3);
  }
  if (email !== undefined) put('email', email);
  if (authDomain !== undefined) put('auth_domain', authDomain);
  if (obfuscated !== undefined) put('user_id', obfuscated);
  if (gaia !== '0') put('internal_id', gaia);
  if (fedId !== undefined) put('federated_identity', fedId);
  if (fedProvider !== undefined) put('federated_provider', fedProvider);
  return { properties: props, key: null };
}

interface Entry {
  name: string;
  multiple: boolean;
  value: Loose;
}

/** Property body -> its name, multiple flag and v1 value. */
function readProperty(r: ProtoReader, excluded: boolean, depth: number): Entry {
  let meaning = 0;
  let uri: string | undefined;
  let name: string | undefined;
  let multiple = false;
  let vs = -1;
  let ve = -1;
  while (!r.done()) {
    const t = r.uint();
    switch (t) {
      case (1 << 3) | WIRE_VARINT:
        meaning = r.uint();
        break;
      case (2 << 3) | WIRE_LEN:
        uri = r.string();
        break;
      case (3 << 3) | WIRE_LEN:
        name = r.string();
        break;
      case (4 << 3) | WIRE_VARINT:
        multiple = r.bool();
        break;
      case (5 << 3) | WIRE_LEN:
        [vs, ve] = r.len();
        break;
      default:
        r.skip(t & 7, t >>> 3);
    }
  }
  if (name === undefined) throw new WireError('a Property has no name');
  if (!KNOWN_V3_MEANINGS.has(meaning)) {
    throw new WireError(`property ${JSON.stringify(name)} has meaning ${meaning}, which Datastore mode does not produce (dspipe does not guess what it means)`);
  }
  if (meaning === EMPTY_LIST) return { name, multiple: false, value: val(0, false, 'arrayValue', { values: [] }) };
  const value = vs < 0 ? val(0, excluded, 'nullValue', 'NULL_VALUE') : readPropertyValue(new ProtoReader(r.buf, vs, ve), meaning, uri, excluded, depth);
  return { name, multiple, value };
}

function readPropertyValue(r: ProtoReader, meaning: number, uri: string | undefined, excluded: boolean, depth: number): Loose {
  let out: Loose;
  while (!r.done()) {
    const t = r.uint();
    switch (t) {
      case (1 << 3) | WIRE_VARINT: {
        const n = r.int64();
        if (meaning === GD_WHEN) {
          const b = BigInt(n);
          out = b >= MIN_MICROS && b <= MAX_MICROS ? val(0, excluded, 'timestampValue', microsToTimestamp(n)) : val(GD_WHEN, excluded, 'integerValue', n);
        } else out = new IntegerValue(meaning, excluded, n);
        break;
      }
      case (2 << 3) | WIRE_VARINT:
        out = val(meaning, excluded, 'booleanValue', r.bool());
        break;
      case (3 << 3) | WIRE_LEN: {
        const [s, e] = r.len();
        if (meaning === ENTITY_PROTO) {
          const inner = readEntity(r.buf, s, e, depth + 1);
          out = val(0, excluded, 'entityValue', inner);
        } else if (meaning === BLOB || meaning === BYTESTRING || uri === 'ZLIB') {
          const m = uri === 'ZLIB' ? V1_ZLIB : excluded && meaning === BYTESTRING ? BYTESTRING : 0;
          out = val(m, excluded, 'blobValue', Buffer.from(r.buf.subarray(s, e)));
        } else {
          const text = utf8(r.buf, s, e);
          out = text !== undefined ? new StringValue(meaning, excluded, text) : val(0, excluded, 'blobValue', Buffer.from(r.buf.subarray(s, e)));
        }
        break;
      }
      case (4 << 3) | WIRE_FIXED64:
        out = val(meaning, excluded, 'doubleValue', r.double());
        break;
      case (5 << 3) | WIRE_START_GROUP: {
        let x = 0;
        let y = 0;
        for (;;) {
          if (r.done()) throw new WireError('PointValue group has no end');
          const u = r.uint();
          if (u === ((5 << 3) | WIRE_END_GROUP)) break;
          if (u === ((6 << 3) | WIRE_FIXED64)) x = r.double();
          else if (u === ((7 << 3) | WIRE_FIXED64)) y = r.double();
          else r.skip(u & 7, u >>> 3);
        }
        out = val(meaning === GEORSS_POINT ? 0 : V1_POINT_WITHOUT_MEANING, excluded, 'geoPointValue', { latitude: x, longitude: y });
        break;
      }
      case (8 << 3) | WIRE_START_GROUP:
        out = val(V1_USER, excluded, 'entityValue', readUserValue(r));
        break;
      case (12 << 3) | WIRE_START_GROUP:
        out = val(meaning, excluded, 'keyValue', readReferenceValue(r));
        break;
      default:
        r.skip(t & 7, t >>> 3);
    }
  }
  if (out === undefined) return val(meaning, excluded, 'nullValue', 'NULL_VALUE');
  return out;
}

function readEntity(buf: Buffer, start: number, end: number, depth: number): Loose {
  if (depth > MAX_ENTITY_DEPTH) throw new WireError(`entity values nested deeper than ${MAX_ENTITY_DEPTH}`);
  const r = new ProtoReader(buf, start, end);
  let key: Loose = null;
  let sawKey = false;
  const indexed: Entry[] = [];
  const raw: Entry[] = [];
  while (!r.done()) {
    const t = r.uint();
    switch (t) {
      case (13 << 3) | WIRE_LEN: {
        const [s, e] = r.len();
        const ref = readReference(new ProtoReader(buf, s, e));
        sawKey = true;
        key = ref.app === '' && ref.key.path.length === 0 ? null : ref.key;
        break;
      }
      case (14 << 3) | WIRE_LEN: {
        const [s, e] = r.len();
        indexed.push(readProperty(new ProtoReader(buf, s, e), false, depth));
        break;
      }
      case (15 << 3) | WIRE_LEN: {
        const [s, e] = r.len();
        raw.push(readProperty(new ProtoReader(buf, s, e), true, depth));
        break;
      }
      default:
        r.skip(t & 7, t >>> 3);
    }
  }
  if (!sawKey) throw new WireError('an EntityProto has no key');
  const properties: Loose = {};
  const put = (entry: Entry) => {
    const { name, value } = entry;
    const have = Object.prototype.hasOwnProperty.call(properties, name) ? properties[name] : undefined;
    if (entry.multiple) {
      if (have === undefined) {
        const arr = val(0, false, 'arrayValue', { values: [value] });
        if (name === '__proto__') Object.defineProperty(properties, name, { value: arr, enumerable: true, writable: true, configurable: true });
        else properties[name] = arr;
        return;
      }
      if (have.valueType !== 'arrayValue' || have.arrayValue.values.length === 0) throw new WireError(`property ${JSON.stringify(name)} is both a list and a single value`);
      have.arrayValue.values.push(value);
      return;
    }
    if (have !== undefined) throw new WireError(`property ${JSON.stringify(name)} appears twice`);
    if (name === '__proto__') Object.defineProperty(properties, name, { value, enumerable: true, writable: true, configurable: true });
    else properties[name] = value;
  };
  for (const e of indexed) put(e);
  for (const e of raw) put(e);
  return { properties, key };
}

export interface RecordLocation {
  file?: string;
  offset?: number;
}

/** One EntityProto record -> the v1 entity. Errors are DSPIPE_CORRUPT_DUMP naming file and offset. */
export function decodeEntityProto(bytes: Buffer, where: RecordLocation = {}): IEntity {
  try {
    const e = readEntity(bytes, 0, bytes.length, 0);
    const path: Loose[] = e.key?.path ?? [];
    if (path.length === 0) throw new WireError('the entity has an empty key');
    return e as IEntity;
  } catch (err) {
    if (err instanceof DspipeError) throw err;
    const at = where.offset !== undefined ? ` at byte ${where.offset}` : '';
    throw new DspipeError('DSPIPE_CORRUPT_DUMP', `entity record${at} is not a valid EntityProto: ${(err as Error).message}`, {
      ...(where.file !== undefined ? { file: where.file } : {}),
      hint: 'the export file is damaged, or is not a Datastore managed export',
      cause: err,
    });
  }
}

