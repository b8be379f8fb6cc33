/**
 * Datastore's key order, shared by the store (its sorted indexes) and the
 * query engine. Within one partition keys compare path element by element:
 * kind by UTF-8 bytes, then ids before names, ids numerically, names by UTF-8
 * bytes; an ancestor sorts before its descendants.
 */
import type { IKey, IPathElement } from './proto.js';

/**
 * Compares two strings in UTF-8 byte order without encoding them. UTF-16 code
 * unit order agrees with code point (= UTF-8) order except that surrogates
 * (U+D800–DFFF) sort below U+E000–FFFF in UTF-16 but encode supplementary
 * characters, which are above them; fix up that one case.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

/**
 * Compares two decimal int64 strings without leading zeros. Ids are positive
 * when allocated, but Datastore (and both Google emulators) store negative
 * ones given by a client, ordered numerically, so -5 comes before 3.
 */
export function compareIds(a: string, b: string): number {
  const an = a.charCodeAt(0) === 45;
  const bn = b.charCodeAt(0) === 45;
  if (an !== bn) return an ? -1 : 1;
  const c = a.length !== b.length ? (a.length < b.length ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0;
  return an ? -c : c;
}

function idOf(e: IPathElement): string | undefined {
  const id = e.id;
  if (id === null || id === undefined) return undefined;
  const s = String(id);
  return s === '0' ? undefined : s;
}

function nameOf(e: IPathElement): string | undefined {
  return e.name === null || e.name === undefined || e.name === '' ? undefined : e.name;
}

export function comparePathElements(a: IPathElement, b: IPathElement): number {
  const k = compareUtf8(a.kind ?? '', b.kind ?? '');
  if (k !== 0) return k;
  const aid = idOf(a);
  const bid = idOf(b);
  const aname = aid === undefined ? nameOf(a) : undefined;
  const bname = bid === undefined ? nameOf(b) : undefined;
  // An element with neither id nor name (incomplete) sorts first.
  const rank = (id: string | undefined, name: string | undefined) => (id !== undefined ? 1 : name !== undefined ? 2 : 0);
  const ra = rank(aid, aname);
  const rb = rank(bid, bname);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (ra === 1) return compareIds(aid!, bid!);
  if (ra === 2) return compareUtf8(aname!, bname!);
  return 0;
}

/** Compares the paths of two keys (the partition is assumed equal). */
export function compareKeyPaths(a: IKey, b: IKey): number {
  const pa = a.path ?? [];
  const pb = b.path ?? [];
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const c = comparePathElements(pa[i]!, pb[i]!);
    if (c !== 0) return c;
  }
  return pa.length - pb.length < 0 ? -1 : pa.length === pb.length ? 0 : 1;
}

/**
 * Compares whole keys: partition (project, database, namespace) first, then
 * path. Key values stored in properties can point at other partitions.
 */
export function compareKeys(a: IKey, b: IKey): number {
  const pa = a.partitionId ?? {};
  const pb = b.partitionId ?? {};
  return (
    compareUtf8(pa.projectId ?? '', pb.projectId ?? '') ||
    compareUtf8(pa.databaseId ?? '', pb.databaseId ?? '') ||
    compareUtf8(pa.namespaceId ?? '', pb.namespaceId ?? '') ||
    compareKeyPaths(a, b)
  );
}
