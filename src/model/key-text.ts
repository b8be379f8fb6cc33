/**
 * The one way dspipe prints a key for people: `Parent(12)/Child("a")`, ids
 * bare and names quoted, then the namespace when it is not the default.
 */
import type { IKey } from './proto.js';

export function formatKey(key: IKey | null | undefined): string {
  if (!key) return '(no key)';
  let path = '';
  for (const e of key.path ?? []) {
    const id = e.id !== null && e.id !== undefined && String(e.id) !== '0' ? String(e.id) : undefined;
    const ident = id ?? (e.name !== null && e.name !== undefined && e.name !== '' ? JSON.stringify(e.name) : '');
    path += `${path === '' ? '' : '/'}${e.kind ?? ''}(${ident})`;
  }
  const ns = key.partitionId?.namespaceId;
  return ns ? `${path} in namespace ${JSON.stringify(ns)}` : path;
}
