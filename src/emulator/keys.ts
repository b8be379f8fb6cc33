/**
 * Keys as the store keeps them: validated like Datastore does, normalized
 * (full partition, ids as canonical decimal strings, no proto-loader extras)
 * and encoded into a string whose plain JS order is Datastore's key order
 * within a partition (key-order.ts), so indexes compare with `<`.
 */
import type { IKey, IPartitionId, IPathElement } from '../model/proto.js';
import { invalidArgument } from './rpc-error.js';
import { isReservedName, MAX_ID, MAX_KEY_PATH, MAX_NAME_BYTES, NAMESPACE_PATTERN } from '../model/limits.js';

const MIN_ID = -(MAX_ID + 1n);


export interface Partition {
  projectId: string;
  databaseId: string;
  namespaceId: string;
}

export interface RequestScope {
  projectId: string;
  databaseId: string;
}


/** Refuses a namespace name production refuses, in Google's words (both of its emulators agree). */
export function checkNamespace(namespaceId: string): void {
  if (namespaceId === '') return;
  if (!NAMESPACE_PATTERN.test(namespaceId)) throw invalidArgument(`Illegal string "${namespaceId.slice(0, 200)}" in namespace id.`);
  if (isReservedName(namespaceId)) throw invalidArgument(`The namespace id "${namespaceId}" is reserved.`);
}

/** The key's partition filled in from the request; refuses another project or database. */
export function partitionOf(key: IKey, scope: RequestScope): Partition {
  const p: IPartitionId = key.partitionId ?? {};
  const projectId = p.projectId ?? '';
  const databaseId = p.databaseId ?? '';
  if (projectId !== '' && projectId !== scope.projectId) {
    throw invalidArgument(
      `mismatched projects: the request is for project "${scope.projectId}" but a key is in project "${projectId}"`,
    );
  }
  if (projectId !== '' && databaseId !== scope.databaseId) {
    throw invalidArgument(
      `mismatched databases: the request is for database "${scope.databaseId}" but a key is in database "${databaseId}"`,
    );
  }
  const namespaceId = p.namespaceId ?? '';
  checkNamespace(namespaceId);
  return sharedPartition(scope.projectId, scope.databaseId, namespaceId);
}

const partitions = new Map<string, Readonly<Partition>>();

/**
 * One frozen partition object per (project, database, namespace): stored keys
 * share it instead of carrying a copy each, which matters at a million entities.
 */
function sharedPartition(projectId: string, databaseId: string, namespaceId: string): Partition {
  const id = `${projectId}\u0000${databaseId}\u0000${namespaceId}`;
  let p = partitions.get(id);
  if (p === undefined) {
    if (partitions.size > 10_000) partitions.clear();
    partitions.set(id, (p = Object.freeze({ projectId, databaseId, namespaceId })));
  }
  return p as Partition;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export interface KeyRules {
  /** Whether the last element may lack an id and a name. */
  allowIncomplete: boolean;
  /** Whether `__*__` kinds are refused (writes); metadata reads may name them. */
  refuseReserved: boolean;
}

/**
 * Validates and normalizes a key from a request. Returns a fresh key object
 * with the full partition and path elements holding only kind and id|name.
 */
export function normalizeKey(key: IKey | null | undefined, scope: RequestScope, rules: KeyRules, what = 'key'): IKey {
  if (key === null || key === undefined) throw invalidArgument(`${what} is missing`);
  const partitionId = partitionOf(key, scope);
  const path = key.path ?? [];
  if (path.length === 0) throw invalidArgument(`${what} path is empty`);
  if (path.length > MAX_KEY_PATH) {
    throw invalidArgument(`Key path is too long. Cannot exceed ${MAX_KEY_PATH} elements. (${what} has ${path.length} elements)`);
  }
  const out: IPathElement[] = new Array(path.length);
  for (let i = 0; i < path.length; i++) {
    const e = path[i]!;
    const kind = e.kind ?? '';
    if (kind === '') throw invalidArgument(`The kind is the empty string. (${what} path element ${i})`);
    if (utf8Length(kind) > MAX_NAME_BYTES) {
      throw invalidArgument(`The kind is longer than ${MAX_NAME_BYTES} bytes. (${what} path element ${i})`);
    }
    if (rules.refuseReserved && isReservedName(kind)) {
      throw invalidArgument(`The kind "${kind}" is reserved. (${what} path element ${i})`);
    }
    const hasId = e.id !== null && e.id !== undefined;
    const hasName = e.name !== null && e.name !== undefined;
    if (hasId && hasName) throw invalidArgument(`${what} path element ${i} has both an id and a name`);
    if (hasId) {
      const id = canonicalId(e.id!, `${what} path element ${i}`);
      out[i] = { kind, id };
    } else if (hasName) {
      const name = e.name!;
      if (name === '') throw invalidArgument(`${what} path element ${i}: the name is empty`);
      if (utf8Length(name) > MAX_NAME_BYTES) {
        throw invalidArgument(`The key path element name is longer than ${MAX_NAME_BYTES} bytes. (${what} path element ${i})`);
      }
      if (rules.refuseReserved && isReservedName(name)) {
        throw invalidArgument(`The key path element name "${name}" is reserved. (${what} path element ${i})`);
      }
      out[i] = { kind, name };
    } else {
      if (i < path.length - 1 || !rules.allowIncomplete) {
        // Both Google emulators' words; ours say where (only the last element may lack an id or name, and only on writes).
        throw invalidArgument(`Key path element must not be incomplete: [${kind}: ] (${what} path element ${i})`);
      }
      out[i] = { kind };
    }
  }
  return { partitionId, path: out };
}

function canonicalId(raw: string | number | Long | object, where: string): string {
  let n: bigint;
  try {
    n = BigInt(String(raw));
  } catch {
    throw invalidArgument(`${where}: id ${JSON.stringify(String(raw))} is not an integer`);
  }
  if (n === 0n) throw invalidArgument(`Key path id is invalid. Must not be zero. (${where}: leave the id unset to have one allocated)`);
  // Negative ids are stored and read like any other, as by both Google emulators; only allocation never makes one.
  if (n < MIN_ID || n > MAX_ID) throw invalidArgument(`Key path id is out of range. (${where}: id ${n} is not an int64)`);
  return n.toString();
}
type Long = { toString(): string };

export function isComplete(key: IKey): boolean {
  const last = key.path![key.path!.length - 1]!;
  return last.id != null || last.name != null;
}

/** The kind of a key (its last element). */
export function kindOf(key: IKey): string {
  return key.path![key.path!.length - 1]!.kind!;
}

/**
 * Encodes a key's path so that JS string order is Datastore key order. Each
 * element: the kind (escaped, then \0), then \x01 + 19-digit id or \x02 +
 * escaped name + \0. Escaping \0 and \x01 keeps prefixes sorting first, and
 * code units at or above U+D800 are remapped so surrogates (supplementary
 * characters) sort above U+E000–FFFF as they do in UTF-8.
 */
export function encodePath(path: readonly IPathElement[]): string {
  let s = '';
  for (const e of path) {
    s += escape(e.kind ?? '') + '\u0000';
    if (e.id != null) s += '\u0001' + idSortKey(String(e.id));
    else if (e.name != null) s += '\u0002' + escape(e.name) + '\u0000';
    // An incomplete element (query start positions only) sorts before ids.
    else s += '\u0000';
  }
  return s;
}

const TWO_63 = 1n << 63n;

/** 19 digits for ids >= 0; '-' (before any digit) and 2^63 + id for negative ones, so the order is numeric. */
function idSortKey(id: string): string {
  if (id.charCodeAt(0) !== 45) return id.padStart(19, '0');
  return '-' + String(TWO_63 + BigInt(id)).padStart(19, '0');
}

const NEEDS_ESCAPE = /[\u0000\u0001\ud800-\uffff]/;

function escape(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) out += '\u0001\u0001';
    else if (c === 1) out += '\u0001\u0002';
    else if (c >= 0xd800) out += String.fromCharCode(c >= 0xe000 ? c - 0x800 : c + 0x2000);
    else out += s[i];
  }
  return out;
}

export function samePartition(a: Partition, b: Partition): boolean {
  return a.projectId === b.projectId && a.databaseId === b.databaseId && a.namespaceId === b.namespaceId;
}
