/**
 * One options normaliser for `dspipe schema`, shared by the CLI and the
 * library: fills defaults and refuses bad combinations with a coded error
 * that quotes the value.
 */
import type { Selection } from '../format/selection.js';
import { boolean, conflict, folderPath, opt, selection } from './validate.js';

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

const FROM = opt('--from');

export function normalizeSchemaOptions(options: SchemaOptions = {}): NormalizedSchemaOptions {
  const from = options.from === undefined ? undefined : folderPath(FROM, options.from);
  const fast = boolean(opt('--fast'), options.fast, false);
  if (fast && from !== undefined) {
    conflict(opt('--fast'), FROM, 'cannot be combined with', '--fast asks the live database for its property metadata; a dump has none, so drop --fast to scan the dump');
  }
  return {
    selection: selection(options),
    from,
    fast,
    snapshot: boolean(opt('--no-snapshot', 'snapshot'), options.snapshot, true),
  };
}
