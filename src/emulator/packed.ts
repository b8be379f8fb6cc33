/**
 * Stored entities as protobuf bytes. A million ~1 KB entities held as
 * proto-loader object trees took ~4.2 KB of heap each (an object per value,
 * per timestamp, per key element, each with its default fields); held as the
 * bytes of their properties (Entity field 3, exactly as RunQuery and Lookup
 * send them) they take little more than their wire size. The bytes go out to
 * clients and into the durable log as they are, so a key-ordered scan and a
 * restart never decode a value; queries that look into properties decode
 * them on first use, and a small ring of recently decoded entities keeps a
 * sort or a multi-filter scan from decoding one entity over and over.
 *
 * Decoded values have the shape proto-loader gives the service
 * (`keepCase: false, longs: String, enums: String, defaults: true, oneofs: true`):
 * `valueType`, the value's field, `meaning` and `excludeFromIndexes`.
 */
import type { IKey, IPathElement, ITimestamp, Value as IValue } from '../model/proto.js';
import { toTimestamp } from './clock.js';
import { ProtoReader } from '../format/export/wire.js';
import type { StoredEntity } from './snapshot.js';

/** Entities whose decoded properties are kept; older ones drop theirs. */
const RING_SIZE = 64;
const ring: (PackedEntity | undefined)[] = new Array(RING_SIZE);
let ringNext = 0;

export class PackedEntity implements StoredEntity {
  readonly key: IKey;
  /** The property map entries (Entity field 3), wire format. */
  readonly packed: Buffer;
  readonly createMicros: number;
  readonly updateMicros: number;
  private decoded: Record<string, IValue> | undefined;
  /**
   * Its built-in index entries (commit.ts counts them for a commit's
   * index_updates), when known at the write: overwriting an entity then
   * never decodes the old one just to count them.
   */
  readonly indexEntries: number | undefined;

  constructor(key: IKey, packed: Buffer, createMicros: number, updateMicros: number, indexEntries?: number) {
    this.key = key;
    this.packed = packed;
    this.createMicros = createMicros;
    this.updateMicros = updateMicros;
    this.indexEntries = indexEntries;
  }

  get properties(): Readonly<Record<string, IValue>> {
    if (this.decoded !== undefined) return this.decoded;
    const props = decodeProperties(this.packed);
    const evicted = ring[ringNext];
    if (evicted !== undefined) evicted.decoded = undefined;
    ring[ringNext] = this;
    ringNext = (ringNext + 1) % RING_SIZE;
    this.decoded = props;
    return props;
  }

  /** Versions are commit times (clock.ts): the update time. */
  get version(): string {
    return String(this.updateMicros);
  }

  get createTime(): ITimestamp {
    return toTimestamp(this.createMicros);
  }

  get updateTime(): ITimestamp {
    return toTimestamp(this.updateMicros);
  }
}

/**
 * Stored bytes are carved out of 64 KiB slabs: one allocation per ~70
 * entities instead of one each (a restart makes a million of them). A slab
 * lives while any entity cut from it does; 64 KiB keeps that cost small
 * when most of its entities have been overwritten or deleted.
 */
const SLAB_SIZE = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/** A stored copy of `src` (never written to again). */
export function copyOut(src: Uint8Array): Buffer {
  const n = src.length;
  if (n > SLAB_SIZE >>> 2) {
    const own = Buffer.allocUnsafeSlow(n);
    own.set(src);
    return own;
  }
  if (slabUsed + n > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  out.set(src);
  slabUsed += n;
  return out;
}

/** A cheap size of an entity's properties (RunQuery cuts batches by bytes). */
export function packedSize(e: StoredEntity): number | undefined {
  return e instanceof PackedEntity ? e.packed.length : undefined;
}

// ---------------------------------------------------------------------------
// Decoding (field numbers: google/datastore/v1/entity.proto, google/type/latlng.proto)

/**
 * format's protobuf reader, with an int64 that stays on doubles for the
 * 5–8-byte varints ids and microsecond times take (the common case here).
 * Also commit-request.ts's.
 */
export class Reader extends ProtoReader {
  override int64(): string {
    const start = this.pos;
    const n = this.uint();
    if (n <= Number.MAX_SAFE_INTEGER && this.pos - start < 9) return String(n);
    this.pos = start;
    return super.int64();
  }

  /** A length-delimited field's body as a reader of its own. */
  sub(): Reader {
    const [s, e] = this.len();
    return new Reader(this.buf, s, e);
  }

  /** Skips the field whose tag was just read. */
  skipTag(tag: number): void {
    this.skip(tag & 7, Math.floor(tag / 8));
  }
}

function timestampOf(r: Reader): ITimestamp {
  let seconds = '0';
  let nanos = 0;
  while (!r.done()) {
    const tag = r.uint();
    if (tag === 8) seconds = r.int64();
    else if (tag === 16) nanos = r.uint();
    else r.skipTag(tag);
  }
  return { seconds, nanos };
}

export function keyOf(r: Reader): IKey {
  let partitionId: IKey['partitionId'] = null;
  const path: IPathElement[] = [];
  while (!r.done()) {
    const tag = r.uint();
    if (tag === 10) {
      const p = r.sub();
      const part = { projectId: '', databaseId: '', namespaceId: '' };
      while (!p.done()) {
        const t = p.uint();
        if (t === 18) part.projectId = p.string();
        else if (t === 26) part.databaseId = p.string();
        else if (t === 34) part.namespaceId = p.string();
        else p.skipTag(t);
      }
      partitionId = part;
    } else if (tag === 18) {
      const e = r.sub();
      let kind = '';
      let id: string | undefined;
      let name: string | undefined;
      while (!e.done()) {
        const t = e.uint();
        if (t === 10) kind = e.string();
        else if (t === 16) id = e.int64();
        else if (t === 26) name = e.string();
        else e.skipTag(t);
      }
      path.push(id !== undefined ? { kind, id } : name !== undefined ? { kind, name } : { kind });
    } else r.skipTag(tag);
  }
  return { partitionId, path };
}

function valueOf(r: Reader): IValue {
  const v: Record<string, unknown> = { meaning: 0, excludeFromIndexes: false };
  while (!r.done()) {
    const tag = r.uint();
    switch (tag) {
      case 8:
        v.valueType = 'booleanValue';
        v.booleanValue = r.uint() !== 0;
        break;
      case 16:
        v.valueType = 'integerValue';
        v.integerValue = r.int64();
        break;
      case 25:
        v.valueType = 'doubleValue';
        v.doubleValue = r.double();
        break;
      case 42:
        v.valueType = 'keyValue';
        v.keyValue = keyOf(r.sub());
        break;
      case 50: {
        v.valueType = 'entityValue';
        const e = r.sub();
        let key: IKey | null = null;
        const properties: Record<string, IValue> = {};
        while (!e.done()) {
          const t = e.uint();
          if (t === 10) key = keyOf(e.sub());
          else if (t === 26) entryInto(e.sub(), properties);
          else e.skipTag(t);
        }
        v.entityValue = { key, properties };
        break;
      }
      case 66: {
        v.valueType = 'geoPointValue';
        const g = r.sub();
        let latitude = 0;
        let longitude = 0;
        while (!g.done()) {
          const t = g.uint();
          if (t === 9) latitude = g.double();
          else if (t === 17) longitude = g.double();
          else g.skipTag(t);
        }
        v.geoPointValue = { latitude, longitude };
        break;
      }
      case 74: {
        v.valueType = 'arrayValue';
        const a = r.sub();
        const values: IValue[] = [];
        while (!a.done()) {
          const t = a.uint();
          if (t === 10) values.push(valueOf(a.sub()));
          else a.skipTag(t);
        }
        v.arrayValue = { values };
        break;
      }
      case 82:
        v.valueType = 'timestampValue';
        v.timestampValue = timestampOf(r.sub());
        break;
      case 88:
        r.uint();
        v.valueType = 'nullValue';
        v.nullValue = 'NULL_VALUE';
        break;
      case 112:
        v.meaning = Number(r.int64());
        break;
      case 138: // 17, length-delimited
        v.valueType = 'stringValue';
        v.stringValue = r.string();
        break;
      case 146: {
        // 18: a view into the stored bytes (never written to)
        const [s, e] = r.len();
        v.valueType = 'blobValue';
        v.blobValue = r.buf.subarray(s, e);
        break;
      }
      case 152:
        v.excludeFromIndexes = r.uint() !== 0;
        break;
      default:
        r.skipTag(tag);
    }
  }
  return v as IValue;
}

function entryInto(r: Reader, out: Record<string, IValue>): void {
  let name = '';
  let value: IValue | undefined;
  while (!r.done()) {
    const t = r.uint();
    if (t === 10) name = r.string();
    else if (t === 18) value = valueOf(r.sub());
    else r.skipTag(t);
  }
  out[name] = value ?? ({ meaning: 0, excludeFromIndexes: false } as IValue);
}

/** Properties from their map entries (what PackedEntity holds). */
export function decodeProperties(packed: Buffer): Record<string, IValue> {
  const out: Record<string, IValue> = {};
  const r = new Reader(packed);
  while (!r.done()) {
    const t = r.uint();
    if (t === 26) entryInto(r.sub(), out);
    else r.skipTag(t);
  }
  return out;
}

export interface DecodedResult {
  key: IKey;
  /** The entity's property entries, copied out of the response. */
  packed: Buffer;
  version: number;
  createMicros: number;
  updateMicros: number;
}

const micros = (ts: ITimestamp) => Number(ts.seconds ?? 0) * 1e6 + Math.floor(Number(ts.nanos ?? 0) / 1000);

/**
 * The found entities (with their property bytes, not decoded) and missing
 * keys of a LookupResponse — the durable log's record body.
 */
export function decodeLookupEntities(body: Buffer): { found: DecodedResult[]; missing: IKey[] } {
  const found: DecodedResult[] = [];
  const missing: IKey[] = [];
  const r = new Reader(body);
  while (!r.done()) {
    const tag = r.uint();
    if (tag !== 10 && tag !== 18) {
      r.skipTag(tag);
      continue;
    }
    const res = r.sub();
    let key: IKey = { partitionId: null, path: [] };
    // The property entries' bytes: one range when they are contiguous (as every encoder writes them).
    let from = -1;
    let to = -1;
    let parts: Buffer[] | undefined;
    let version = 0;
    let createMicros = 0;
    let updateMicros = 0;
    while (!res.done()) {
      const t = res.uint();
      if (t === 10) {
        const e = res.sub();
        while (!e.done()) {
          const et = e.uint();
          if (et === 10) key = keyOf(e.sub());
          else if (et === 26) {
            const start = e.pos - 1; // the tag (one byte, 26) and the entry, as they were
            e.len();
            if (from < 0) [from, to] = [start, e.pos];
            else if (start === to && parts === undefined) to = e.pos;
            else (parts ??= [body.subarray(from, to)]).push(body.subarray(start, e.pos));
          } else e.skipTag(et);
        }
      } else if (t === 32) version = res.uint();
      else if (t === 42) updateMicros = micros(timestampOf(res.sub()));
      else if (t === 50) createMicros = micros(timestampOf(res.sub()));
      else res.skipTag(t);
    }
    if (tag === 18) missing.push(key);
    else {
      const packed = parts !== undefined ? Buffer.concat(parts) : from < 0 ? body.subarray(0, 0) : body.subarray(from, to);
      found.push({ key, packed: copyOut(packed), version, createMicros, updateMicros });
    }
  }
  return { found, missing };
}
