/**
 * ReserveIds on the wire: the key prefixes whose ids a restore reserves are
 * cut straight from the Mutation bytes (the entity's key is its first field,
 * its path elements in order), so the id reserver of the wire path builds no
 * key objects and the request is assembled from bytes. Field numbers are
 * google/datastore/v1/datastore.proto's and entity.proto's.
 */
import { LEN, VARINT } from './wire-cursor.js';

/** Where a Mutation's key path starts and, for each element with an id, where the prefix ending in it ends. */
export interface IdPrefixes {
  /** Offset of the first path element in the mutation. */
  from: number;
  /** End offset of each prefix that ends in an id, shortest first. */
  ends: number[];
  /** The number of path elements of each such prefix. */
  depths: number[];
  /** Path elements of the whole key. */
  length: number;
}

function readVarint(b: Buffer, p: number): [number, number] {
  let n = 0;
  for (let mul = 1; ; mul *= 128) {
    const c = b[p++];
    if (c === undefined || mul > 2 ** 49) return [-1, p];
    n += (c & 0x7f) * mul;
    if (c < 0x80) return [n, p];
  }
}

/**
 * The id-ending prefixes of the entity key in Mutation bytes as
 * format/wire/mutation.ts and line-transcoder.ts write them (op field, the
 * entity, its key first), or undefined for bytes of another layout.
 */
export function idPrefixes(mutation: Buffer): IdPrefixes | undefined {
  let [, p] = readVarint(mutation, 0); // the op's tag
  let len: number;
  [len, p] = readVarint(mutation, p);
  if (len < 0 || mutation[p] !== ((1 << 3) | LEN)) return undefined;
  [len, p] = readVarint(mutation, p + 1);
  const keyEnd = p + len;
  if (len < 0 || keyEnd > mutation.length) return undefined;
  if (mutation[p] === ((1 << 3) | LEN)) {
    [len, p] = readVarint(mutation, p + 1);
    if (len < 0) return undefined;
    p += len;
  }
  const from = p;
  const ends: number[] = [];
  const depths: number[] = [];
  let n = 0;
  while (p < keyEnd) {
    if (mutation[p] !== ((2 << 3) | LEN)) return undefined;
    [len, p] = readVarint(mutation, p + 1);
    const end = p + len;
    if (len < 0 || end > keyEnd) return undefined;
    n++;
    // the element: kind (1), then id (2, a varint) or name (3)
    if (mutation[p] !== ((1 << 3) | LEN)) return undefined;
    let kindLen: number;
    [kindLen, p] = readVarint(mutation, p + 1);
    if (kindLen < 0) return undefined;
    p += kindLen;
    if (p < end && mutation[p] === ((2 << 3) | VARINT)) {
      ends.push(end);
      depths.push(n);
    }
    p = end;
  }
  if (p !== keyEnd) return undefined;
  return { from, ends, depths, length: n };
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited field; `always`: written even when empty. */
function field(field: number, bytes: Uint8Array, always = false): Buffer[] {
  if (bytes.length === 0 && !always) return [];
  return [Buffer.from([(field << 3) | LEN, ...varint(bytes.length)]), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

/** A Key's partition_id field (1) naming this project, database and namespace (empty ones left out). */
export function partitionField(projectId: string, databaseId: string, namespaceId: string): Buffer {
  const body = Buffer.concat([...field(2, Buffer.from(projectId)), ...field(3, Buffer.from(databaseId)), ...field(4, Buffer.from(namespaceId))]);
  return Buffer.concat(field(1, body, true));
}

/** A ReserveIdsRequest: keys (1, each a Key message body), project_id (8), database_id (9, left out for the default database). */
export function reserveIdsRequestBytes(projectId: string, databaseId: string, keys: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const k of keys) parts.push(...field(1, k, true));
  parts.push(...field(8, Buffer.from(projectId)), ...field(9, Buffer.from(databaseId)));
  return Buffer.concat(parts);
}
