/**
 * The option check of `cat`: the files or dump folders to decode, at least
 * one, each a path.
 */
import { invalid, missing, text, type OptionName } from './validate.js';

const PATHS: OptionName = { flag: 'FILE', option: 'paths' };
const HINT = 'e.g. dspipe cat _backup/20261122/(default)/User.ndjson.zst, or a dump folder';

export function normalizeCatPaths(paths: unknown): string[] {
  if (!Array.isArray(paths)) invalid(PATHS, paths, 'is not a list of paths', HINT);
  if (paths.length === 0) missing([PATHS], HINT);
  return paths.map((path) => text(PATHS, path, HINT));
}
