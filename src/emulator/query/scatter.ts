/**
 * `__scatter__` is Datastore's hidden sampling property: about 1 in 128
 * entities carries it, with a value derived from a hash of the key, and
 * query splitters order by it to pick evenly spread split points. We decide
 * membership and value from a stable 32-bit hash of the key path, so the
 * sample is the same on every run and for every process.
 */
import type { IPathElement } from '../../model/proto.js';

export const SCATTER_PROPERTY = '__scatter__';
const SAMPLE_EVERY = 128;

function mix(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** FNV-1a over kind, id/name of each element, finished with murmur3's fmix32 so low bits are well spread. */
export function keyHash(path: readonly IPathElement[]): number {
  let h = 0x811c9dc5;
  for (const e of path) {
    h = mix(h, e.kind ?? '');
    h = Math.imul(h ^ 0xff, 0x01000193);
    const id = e.id === null || e.id === undefined ? '' : String(e.id);
    if (id !== '' && id !== '0') {
      h = Math.imul(h ^ 1, 0x01000193);
      h = mix(h, id);
    } else {
      h = Math.imul(h ^ 2, 0x01000193);
      h = mix(h, e.name ?? '');
    }
    h = Math.imul(h ^ 0xfe, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The entity's `__scatter__` value, or undefined for the 127 in 128 that have none. */
export function scatterValue(path: readonly IPathElement[]): number | undefined {
  const h = keyHash(path);
  return h % SAMPLE_EVERY === 0 ? h : undefined;
}
