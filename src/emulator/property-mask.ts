/**
 * Mutation.property_mask: when the entity exists only the masked properties
 * change (set from the mutation's entity, or removed when it lacks them);
 * everything else is kept. On a new entity the mask applies to an empty one.
 */
import type { Value as IValue } from '../model/proto.js';
import { isReservedName } from '../model/limits.js';
import { getAt, parsePath, setAt, type Properties } from './property-path.js';
import { invalidArgument } from './rpc-error.js';

export function applyMask(existing: Readonly<Record<string, IValue>>, written: Properties, paths: string[]): Properties {
  let out: Properties = { ...existing };
  for (const path of paths) {
    const names = parsePath(path);
    if (names.some((n) => isReservedName(n) && n !== '__key__')) {
      throw invalidArgument(`property mask path ${JSON.stringify(path)} names a reserved property`);
    }
    if (names[0] === '__key__') continue;
    out = setAt(out, names, getAt(written, names));
  }
  return out;
}
