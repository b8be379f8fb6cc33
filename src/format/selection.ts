/**
 * Which namespaces and kinds a command works on, from `--namespaces` and
 * `--kinds`. A list is comma-separated; an entry starting with `-` excludes,
 * `*` matches any run of characters, and `(default)` names the default
 * namespace (whose id is the empty string). With no include entries,
 * everything not excluded is selected.
 */
import { DspipeError } from '../errors.js';

export const DEFAULT_NAMESPACE_TOKEN = '(default)';

export interface NameFilter {
  include: RegExp[];
  exclude: RegExp[];
  /**
   * The names the include entries spell out, when every one is a plain name
   * (no `*`): then the filter names exactly what to read and no listing is
   * needed. Undefined when there are no includes or one is a pattern.
   */
  names?: string[];
  /** The include entries as written, one per `include` pattern (for messages). */
  entries?: string[];
}

export interface Selection {
  namespaces: NameFilter;
  kinds: NameFilter;
}

function pattern(entry: string, namespaces: boolean): RegExp {
  const name = namespaces && entry === DEFAULT_NAMESPACE_TOKEN ? '' : entry;
  const source = name.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`, 'su');
}

export function parseNameFilter(spec: string | readonly string[] | undefined, option: string, namespaces = false): NameFilter {
  const filter: NameFilter = { include: [], exclude: [] };
  if (spec === undefined) return filter;
  const entries = (typeof spec === 'string' ? [spec] : spec).flatMap((s) => s.split(','));
  const literals: (string | undefined)[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '' || entry === '-') {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `${option} has an empty entry in ${JSON.stringify(spec)}`, {
        hint: `list names separated by commas, e.g. ${option} User,Order,-AuditLog` +
          (namespaces ? ` (write ${DEFAULT_NAMESPACE_TOKEN} for the default namespace)` : ''),
      });
    }
    if (entry.startsWith('-')) filter.exclude.push(pattern(entry.slice(1), namespaces));
    else {
      filter.include.push(pattern(entry, namespaces));
      (filter.entries ??= []).push(entry);
      literals.push(entry.includes('*') ? undefined : namespaces && entry === DEFAULT_NAMESPACE_TOKEN ? '' : entry);
    }
  }
  if (literals.length > 0 && literals.every((n) => n !== undefined)) {
    // Excluded names drop out here, so `names` is exactly what matches().
    filter.names = [...new Set(literals as string[])].filter((n) => matches(filter, n));
  }
  return filter;
}

export function parseSelection(options: { namespaces?: string | readonly string[]; kinds?: string | readonly string[] }): Selection {
  return {
    namespaces: parseNameFilter(options.namespaces, '--namespaces', true),
    kinds: parseNameFilter(options.kinds, '--kinds'),
  };
}

export function matches(filter: NameFilter, name: string): boolean {
  if (filter.exclude.some((re) => re.test(name))) return false;
  return filter.include.length === 0 || filter.include.some((re) => re.test(name));
}

export const SELECT_ALL: Selection = { namespaces: { include: [], exclude: [] }, kinds: { include: [], exclude: [] } };
