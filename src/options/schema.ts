/**
 * One options normaliser for `dspipe schema`, shared by the CLI and the
 * library: fills defaults and refuses bad combinations with a coded error
 * that quotes the value.
 */
import { DspipeError } from '../errors.js';
import { parseSelection, type Selection } from '../format/selection.js';

export interface SchemaOptions {
  /** Kinds to report (comma list, `-Kind` excludes, `*` wildcards). Default: all. */
  kinds?: string | readonly string[];
  /** Namespaces to report; `(default)` is the default namespace. Default: all. */
  namespaces?: string | readonly string[];
  /** Read this dump folder instead of the database (no Datastore access). */
  from?: string;
  /** Use the `__property__` metadata query: property names and representations only, no scan, no counts. */
  fast?: boolean;
  /** Read live data at one consistent read time (default true). */
  snapshot?: boolean;
}

export interface NormalizedSchemaOptions {
  selection: Selection;
  from: string | undefined;
  fast: boolean;
  snapshot: boolean;
}

export function normalizeSchemaOptions(options: SchemaOptions = {}): NormalizedSchemaOptions {
  const selection = parseSelection({
    ...(options.kinds !== undefined ? { kinds: options.kinds } : {}),
    ...(options.namespaces !== undefined ? { namespaces: options.namespaces } : {}),
  });
  const from = options.from;
  if (from !== undefined && from.trim() === '') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', '--from is empty', { hint: 'name a dump folder, e.g. --from _backup/2024-01-31' });
  }
  const fast = options.fast === true;
  if (fast && from !== undefined) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', '--fast cannot be combined with --from', {
      hint: '--fast asks the live database for its property metadata; a dump has none, so drop --fast to scan the dump',
    });
  }
  return { selection, from, fast, snapshot: options.snapshot !== false };
}
