/**
 * Dump line -> Mutation bytes, without building entity objects: the line is
 * JSON.parse'd and the parsed tree written straight as protobuf, keys moved
 * on the way (project, database, namespace map, and key values and embedded
 * keys that point into the dumped database — the rules of key-rewrite.ts).
 *
 * It accepts exactly what `decodeEntity` accepts. On anything it refuses it
 * asks `decodeEntityObject` for the error, so a bad line fails with the same
 * DSPIPE_INVALID_LINE, path and hint on both paths.
 *
 * The bytes are those protobufjs (what the client library sends with)
 * writes for the entity `decodeEntity` returns, fields in field-number order,
 * except that fields holding their proto3 default are left out — `meaning: 0`,
 * `excludeFromIndexes: false`, empty partition strings, zero timestamp parts
 * and coordinates — as proto3 serialisers do; protobufjs writes them because
 * the decoded objects set them. Datastore reads both the same.
 * test/format/wire/differential.test.ts compares the two.
 */
import { DspipeError } from '../../errors.js';
import type { IKey } from '../../model/proto.js';
import { MAX_ENTITY_DEPTH, MAX_KEY_PATH } from '../../model/limits.js';
import { MessageWriter } from './message-writer.js';
import { base64Bytes, decodeEntity, decodeEntityObject, isIdString, isInt64String, isWellFormed, type LineLocation } from '../entity-codec.js';
import type { DatabaseRef } from '../key-rewrite.js';
import { parseTimestamp } from '../timestamp.js';
import { entityBytesToLine } from './run-query-lines.js';

export type MutationOp = 'upsert' | 'insert' | 'update';

/** Mutation field numbers (google/datastore/v1/datastore.proto). */
const OP_FIELD: Record<MutationOp, number> = { insert: 4, update: 5, upsert: 6 };

export interface WireKeyRewrite {
  target: DatabaseRef;
  /** The dumped database; without it each entity's own key names it. */
  source?: DatabaseRef | undefined;
  namespaceMap?: ReadonlyMap<string, string> | undefined;
}

/** What one line became. */
export interface WireMutation {
  /** The Mutation message (its body, without a field tag). */
  bytes: Buffer;
  /** The entity's key as written (after rewriting), for errors, id reservation and duplicate checks. */
  key: IKey;
  /** The key as the line had it (before rewriting). */
  sourceKey: IKey;
}

/** Thrown inside the walk: the line is not what decodeEntity accepts; it names the problem. */
class Bail {}
const BAIL = new Bail();

class Writer extends MessageWriter {
  constructor() {
    super(256 * 1024);
  }

  /** An int32 varint (negative ones sign-extended to 10 bytes, as protobuf does). */
  int32(n: number): void {
    if (n >= 0) this.varint(n);
    else this.int64(String(n));
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const isObject = (x: unknown): x is Record<string, Json> => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string => {
  if (typeof x !== 'string' || !isWellFormed(x)) throw BAIL;
  return x;
};

class Encoder {
  readonly w = new Writer();
  /** The database whose keys move (the rewrite's source, or the entity's own), or undefined for no rewriting. */
  private from: DatabaseRef | undefined;
  private rewrite: WireKeyRewrite | undefined;

  setRewrite(rewrite: WireKeyRewrite | undefined, ownPartition: Json): void {
    this.rewrite = rewrite;
    if (rewrite === undefined) return void (this.from = undefined);
    this.from = rewrite.source ?? { projectId: ownPartition?.projectId ?? '', databaseId: ownPartition?.databaseId ?? '' };
  }

  /** Writes a key message body; `move` says whether its partition is rewritten. Returns the key as written. */
  key(k: Json, allowIncomplete: boolean, own: boolean, want: boolean): IKey | undefined {
    if (!isObject(k)) throw BAIL;
    let partition: Json;
    let hasPartition = false;
    let path: Json;
    for (const f in k) {
      if (f === 'partitionId') (partition = k[f]), (hasPartition = true);
      else if (f === 'path') path = k[f];
      else throw BAIL;
    }
    let projectId = '';
    let databaseId = '';
    let namespaceId = '';
    if (hasPartition) {
      if (!isObject(partition)) throw BAIL;
      for (const f in partition) {
        const x = str(partition[f]);
        if (f === 'projectId') projectId = x;
        else if (f === 'databaseId') databaseId = x;
        else if (f === 'namespaceId') namespaceId = x;
        else throw BAIL;
      }
    }
    if (!Array.isArray(path) || path.length === 0 || path.length > MAX_KEY_PATH) throw BAIL;
    const from = this.from;
    const moved = from !== undefined && (own || (projectId === from.projectId && databaseId === from.databaseId));
    const w = this.w;
    if (moved) {
      const rw = this.rewrite!;
      projectId = rw.target.projectId;
      databaseId = rw.target.databaseId;
      namespaceId = rw.namespaceMap?.get(namespaceId) ?? namespaceId;
    }
    if (moved || hasPartition) {
      const m = w.begin(1);
      if (projectId !== '') w.string(2, projectId);
      if (databaseId !== '') w.string(3, databaseId);
      if (namespaceId !== '') w.string(4, namespaceId);
      w.end(m);
    }
    const n = path.length;
    for (let i = 0; i < n; i++) {
      const e = path[i];
      if (!isObject(e)) throw BAIL;
      let kind: string | undefined;
      let id: string | undefined;
      let name: string | undefined;
      for (const f in e) {
        const x = e[f];
        if (f === 'kind') kind = str(x);
        else if (f === 'id') {
          if (typeof x !== 'string' || !isIdString(x)) throw BAIL;
          id = x;
        } else if (f === 'name') {
          name = str(x);
          if (name === '') throw BAIL;
        } else throw BAIL;
      }
      if (kind === undefined || kind === '' || (id !== undefined && name !== undefined)) throw BAIL;
      if (id === undefined && name === undefined && !(i === n - 1 && allowIncomplete)) throw BAIL;
      const m = w.begin(2);
      w.string(1, kind);
      if (id !== undefined) {
        w.tag(2, 0);
        w.int64(id);
      } else if (name !== undefined) w.string(3, name);
      w.end(m);
    }
    if (!want) return undefined;
    return { partitionId: { projectId, databaseId, namespaceId }, path } as IKey;
  }

  properties(p: Json, depth: number): void {
    if (!isObject(p)) throw BAIL;
    const w = this.w;
    for (const name in p) {
      if (name === '' || !isWellFormed(name)) throw BAIL;
      const entry = w.begin(3);
      w.string(1, name);
      const v = w.begin(2);
      this.value(p[name], depth);
      w.end(v);
      w.end(entry);
    }
  }

  value(o: Json, depth: number): void {
    if (!isObject(o)) throw BAIL;
    let type: string | undefined;
    let payload: Json;
    let meaning = 0;
    let exclude = false;
    for (const f in o) {
      switch (f) {
        case 'meaning': {
          const m = o[f];
          if (typeof m !== 'number' || !Number.isInteger(m) || m < -2147483648 || m > 2147483647) throw BAIL;
          meaning = m;
          break;
        }
        case 'excludeFromIndexes':
          if (typeof o[f] !== 'boolean') throw BAIL;
          exclude = o[f];
          break;
        case 'nullValue': case 'booleanValue': case 'integerValue': case 'doubleValue': case 'timestampValue': case 'keyValue':
        case 'stringValue': case 'blobValue': case 'geoPointValue': case 'entityValue': case 'arrayValue':
          if (type !== undefined) throw BAIL;
          type = f;
          payload = o[f];
          break;
        default:
          throw BAIL;
      }
    }
    const w = this.w;
    // Fields in number order: the value (1..11), meaning (14), string/blob (17, 18), excludeFromIndexes (19).
    switch (type) {
      case 'stringValue':
        if (meaning !== 0) (w.tag(14, 0), w.int32(meaning));
        w.string(17, str(payload));
        break;
      case 'blobValue': {
        const b = typeof payload === 'string' ? base64Bytes(payload) : null;
        if (b === null) throw BAIL;
        if (meaning !== 0) (w.tag(14, 0), w.int32(meaning));
        w.bytes(18, b);
        break;
      }
      default: {
        switch (type) {
          case 'integerValue':
            if (typeof payload !== 'string' || !isInt64String(payload)) throw BAIL;
            w.tag(2, 0);
            w.int64(payload);
            break;
          case 'doubleValue':
            w.double(3, doubleIn(payload));
            break;
          case 'booleanValue':
            if (typeof payload !== 'boolean') throw BAIL;
            w.tag(1, 0);
            w.byte(payload ? 1 : 0);
            break;
          case 'timestampValue': {
            if (typeof payload !== 'string') throw BAIL;
            const t = parseTimestamp(payload);
            if (typeof t === 'string') throw BAIL;
            const m = w.begin(10);
            if (t.seconds !== 0) (w.tag(1, 0), w.int64(String(t.seconds)));
            if (t.nanos !== 0) (w.tag(2, 0), w.varint(t.nanos));
            w.end(m);
            break;
          }
          case 'nullValue':
            if (payload !== null && payload !== 'NULL_VALUE') throw BAIL;
            w.tag(11, 0);
            w.byte(0);
            break;
          case 'keyValue': {
            const m = w.begin(5);
            this.key(payload, true, false, false);
            w.end(m);
            break;
          }
          case 'geoPointValue': {
            if (!isObject(payload)) throw BAIL;
            let lat = 0;
            let lng = 0;
            for (const f in payload) {
              if (f === 'latitude') lat = doubleIn(payload[f]);
              else if (f === 'longitude') lng = doubleIn(payload[f]);
              else throw BAIL;
            }
            const m = w.begin(8);
            if (!Object.is(lat, 0)) w.double(1, lat);
            if (!Object.is(lng, 0)) w.double(2, lng);
            w.end(m);
            break;
          }
          case 'entityValue': {
            if (!isObject(payload) || depth >= MAX_ENTITY_DEPTH) throw BAIL;
            const m = w.begin(6);
            let key: Json;
            let props: Json = {};
            for (const f in payload) {
              if (f === 'key') key = payload[f];
              else if (f === 'properties') props = payload[f];
              else throw BAIL;
            }
            if (key !== undefined) {
              const km = w.begin(1);
              this.key(key, true, false, false);
              w.end(km);
            }
            this.properties(props, depth + 1);
            w.end(m);
            break;
          }
          case 'arrayValue': {
            if (!isObject(payload)) throw BAIL;
            let values: Json = [];
            for (const f in payload) {
              if (f !== 'values' || !Array.isArray(payload[f])) throw BAIL;
              values = payload[f];
            }
            const m = w.begin(9);
            for (let i = 0; i < values.length; i++) {
              const vm = w.begin(1);
              this.value(values[i], depth);
              w.end(vm);
            }
            w.end(m);
            break;
          }
          default:
            throw BAIL;
        }
        if (meaning !== 0) (w.tag(14, 0), w.int32(meaning));
      }
    }
    if (exclude) {
      w.tag(19, 0);
      w.byte(1);
    }
  }
}

function doubleIn(x: Json): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  throw BAIL;
}

const encoder = new Encoder();

/**
 * One parsed dump line (`JSON.parse` of it) -> a Mutation of `op`. `where`
 * names the file and line in errors.
 */
export function lineObjectToMutation(obj: unknown, op: MutationOp, rewrite?: WireKeyRewrite, where?: LineLocation): WireMutation {
  const e = encoder;
  const w = e.w;
  w.pos = 0;
  try {
    if (!isObject(obj)) throw BAIL;
    let key: Json;
    let props: Json = {};
    for (const f in obj) {
      if (f === 'key') key = obj[f];
      else if (f === 'properties') props = obj[f];
      else throw BAIL;
    }
    if (key === undefined) throw BAIL;
    e.setRewrite(rewrite, isObject(key) ? key.partitionId : undefined);
  const m = w.begin(OP_FIELD[op]);
    const km = w.begin(1);
    const written = e.key(key, false, true, true)!;
    w.end(km);
    e.properties(props, 0);
    w.end(m);
    return { bytes: Buffer.from(w.buf.subarray(0, w.pos)), key: written, sourceKey: key as IKey };
  } catch (err) {
    if (err !== BAIL) throw err;
    // The object path's error, word for word.
    decodeEntityObject(obj, where);
    throw new DspipeError('DSPIPE_INVALID_LINE', 'the line cannot be encoded on the wire path', {
      ...(where?.file !== undefined && { file: where.file }),
      ...(where?.line !== undefined && { line: where.line }),
      hint: 'restore with --transport object, and report this line',
    });
  }
}

/** One dump line -> a Mutation of `op` (see lineObjectToMutation). */
export function lineToMutation(line: string, op: MutationOp, rewrite?: WireKeyRewrite, where?: LineLocation): WireMutation {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    decodeEntity(line, where); // throws the codec's words for invalid JSON
  }
  return lineObjectToMutation(obj, op, rewrite, where);
}

/** The Entity inside Mutation bytes (insert, update or upsert) as its dump line: for rejects files and messages. */
export function mutationEntityLine(mutation: Buffer): string {
  // The first field is the op's Entity: one tag byte (fields 4..6, length-delimited) and a length.
  let p = 1;
  let len = 0;
  for (let mul = 1; ; mul *= 128) {
    const b = mutation[p++]!;
    len += (b & 0x7f) * mul;
    if (b < 0x80) break;
  }
  return entityBytesToLine(mutation.subarray(p, p + len)).toString('utf8');
}
