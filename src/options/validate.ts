/**
 * The one validator every command's options go through, CLI flags and
 * library options alike. Each check names the option both ways, so a message
 * reads right whichever way it was given, and quotes the bad value:
 *
 *   --concurrency "0" is not a whole number from 1 to 64 (library option: concurrency)
 *
 * Every failure is DSPIPE_INVALID_OPTION with a hint saying what to write.
 */
import { DspipeError, isDspipeError } from '../errors.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../datastore/retry.js';
import { parseNameFilter, type NameFilter, type Selection } from '../format/selection.js';

/** The folder that holds dumps, options.json and migration records by default. */
export const DEFAULT_ROOT = '_backup';

/**
 * An option as the CLI spells it (`--page-size`) and as the library does
 * (`pageSize`); library-only options have no flag. An entry of a file
 * (`restore.BbsImage.writers` in options.json) names the file instead.
 */
export interface OptionName {
  flag?: string;
  option: string;
  file?: string;
}

/** `opt('--page-size', 'pageSize')`; the flag alone derives the library name. */
export function opt(flag: string, option?: string): OptionName {
  return { flag, option: option ?? flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) };
}

function quote(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString());
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // JSON would say null
  if (value === undefined) return 'undefined';
  return JSON.stringify(value) ?? String(value);
}

const spelled = (name: OptionName) => name.flag ?? name.option;

/** The closing parenthesis naming the library option(s), or the file for a file's entry. */
function where(names: readonly OptionName[]): string {
  if (names[0]?.file !== undefined) return '(options file)';
  if (names.length === 1 && names[0]!.flag === undefined) return '(library option; no CLI flag)';
  const options = [...new Set(names.map((n) => n.option))];
  return `(library option${options.length > 1 ? 's' : ''}: ${options.join(', ')})`;
}

/** `e.g. --level 3`, or `e.g. retry.maxAttempts: 10` where there is no flag. */
function example(name: OptionName, value: unknown): string {
  return name.flag !== undefined ? `e.g. ${name.flag} ${value}` : `e.g. ${name.option}: ${value}`;
}

function fail(message: string, names: readonly OptionName[], hint: string): never {
  const file = names[0]?.file;
  throw new DspipeError('DSPIPE_INVALID_OPTION', message, file !== undefined ? { file, hint } : { hint });
}

/** Throws the one message format: flag, quoted value, what is wrong, the library option; and a hint. */
export function invalid(name: OptionName, value: unknown, what: string, hint: string): never {
  fail(`${spelled(name)} ${quote(value)} ${what} ${where([name])}`, [name], hint);
}

/** For rules between options (`--resume` with `--force`): names each flag and library option. */
export function conflict(a: OptionName, b: OptionName, what: string, hint: string): never {
  fail(`${spelled(a)} ${what} ${spelled(b)} ${where([a, b])}`, [a, b], hint);
}

/** For an option that must be given; with several names, one of them. */
export function missing(names: readonly OptionName[], hint: string): never {
  fail(`${names.map(spelled).join(' or ')} is required ${where(names)}`, names, hint);
}

/**
 * Runs a parser of format/ (name lists, namespace maps) and restates its
 * refusal in the one format; format/ knows nothing of library option names.
 */
export function parsed<T>(name: OptionName, value: unknown, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!isDspipeError(err, 'DSPIPE_INVALID_OPTION')) throw err;
    const prefix = `${spelled(name)} `;
    const what = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return invalid(name, value, what, err.hint ?? `see dspipe --help`);
  }
}

function isTextList(value: unknown): value is string | readonly string[] {
  return typeof value === 'string' || (Array.isArray(value) && value.every((s) => typeof s === 'string'));
}

/** A `--kinds`/`--namespaces` list: comma-separated, repeatable, `-NAME` excludes, `*` wildcards. */
export function nameList(name: OptionName, value: unknown, namespaces = false): NameFilter {
  if (value !== undefined && !isTextList(value)) invalid(name, value, 'is not a list of names', `${example(name, 'User,Order')} (a string or an array of strings)`);
  return parsed(name, value, () => parseNameFilter(value, spelled(name), namespaces));
}

/** The namespaces and kinds a command works on. */
export function selection(input: { namespaces?: unknown; kinds?: unknown }): Selection {
  return { namespaces: nameList(opt('--namespaces'), input.namespaces, true), kinds: nameList(opt('--kinds'), input.kinds) };
}

/**
 * A whole number in [min, max], from a number or the digits the CLI passes.
 * `undefined` gives the fallback (itself unchecked: defaults are ours).
 */
export function wholeNumber(name: OptionName, value: unknown, min: number, max: number, fallback: number): number;
export function wholeNumber(name: OptionName, value: unknown, min: number, max: number): number | undefined;
export function wholeNumber(name: OptionName, value: unknown, min: number, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > Number.MIN_SAFE_INTEGER ? ` of at least ${min}` : '';
    invalid(name, value, `is not a whole number${range}`, example(name, fallback ?? Math.max(min, 0)));
  }
  return n;
}

/** A number (not only whole) in [min, max]. */
export function numberInRange(name: OptionName, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    invalid(name, value, `is not a number from ${min} to ${max}`, example(name, fallback));
  }
  return n;
}

/** One of a fixed set of words. */
export function choice<T extends string>(name: OptionName, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    invalid(name, value, `is not one of ${allowed.join(', ')}`, example(name, fallback));
  }
  return value as T;
}

export function boolean(name: OptionName, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(name, value, 'is not true or false', `leave it out, or pass ${name.flag ?? 'true'}`);
  return value;
}

/** A non-empty string with no NUL (paths, patterns). */
export function text(name: OptionName, value: unknown, hint: string): string;
export function text(name: OptionName, value: unknown, hint: string, fallback: string): string;
export function text(name: OptionName, value: unknown, hint: string, fallback?: string): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '' || value.includes('\0')) invalid(name, value, 'is not a non-empty string', hint);
  return value;
}

/**
 * A plain folder name (a dump or migration name): not empty, not `.` or `..`,
 * no slash, backslash or NUL, no leading or trailing whitespace.
 */
export function folderName(name: OptionName, value: unknown, hint: string): string {
  if (typeof value !== 'string' || value === '' || value === '.' || value === '..' || /[/\\\0]/.test(value) || value.trim() !== value) {
    invalid(name, value, 'is not a plain folder name', hint);
  }
  return value;
}

/** A folder path (--root, --in, --dir): not blank, no NUL; the default root when left out. */
export function folderPath(name: OptionName, value: unknown, fallback: string = DEFAULT_ROOT): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '' || value.includes('\0')) {
    invalid(name, value, 'is not a folder path', `leave it out for ${fallback}`);
  }
  return value;
}

const RETRY_FIELDS = ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'multiplier'] as const;

/** A retry policy: DEFAULT_RETRY with the given fields, each checked. */
export function retryPolicy(value: unknown, name: OptionName = { option: 'retry' }): RetryPolicy {
  if (value === undefined) return { ...DEFAULT_RETRY };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalid(name, value, 'is not a retry policy', `give an object with any of ${RETRY_FIELDS.join(', ')}`);
  }
  const input = value as Record<string, unknown>;
  for (const k of Object.keys(input)) {
    if (!(RETRY_FIELDS as readonly string[]).includes(k)) {
      invalid({ option: `${name.option}.${k}` }, input[k], 'is not a retry setting', `use ${RETRY_FIELDS.join(', ')}`);
    }
  }
  const field = (k: (typeof RETRY_FIELDS)[number]): OptionName => ({ option: `${name.option}.${k}` });
  const policy: RetryPolicy = {
    maxAttempts: wholeNumber(field('maxAttempts'), input.maxAttempts, 1, 1000, DEFAULT_RETRY.maxAttempts),
    initialDelayMs: wholeNumber(field('initialDelayMs'), input.initialDelayMs, 0, 3_600_000, DEFAULT_RETRY.initialDelayMs),
    maxDelayMs: wholeNumber(field('maxDelayMs'), input.maxDelayMs, 0, 3_600_000, DEFAULT_RETRY.maxDelayMs),
    multiplier: numberInRange(field('multiplier'), input.multiplier, 1, 100, DEFAULT_RETRY.multiplier),
  };
  if (policy.maxDelayMs < policy.initialDelayMs) {
    invalid(field('maxDelayMs'), policy.maxDelayMs, `is below ${name.option}.initialDelayMs (${policy.initialDelayMs})`, 'make the longest wait at least the first');
  }
  return policy;
}

/** How dump and restore talk to Datastore: 'wire' (the default) or the client library's objects. */
export type Transport = 'wire' | 'object';

/**
 * --transport: 'wire' moves entities as protobuf bytes dspipe transcodes
 * itself (format/wire/); 'object' keeps the client library's entity objects,
 * the path before issue 14, selectable for a release in case the two differ.
 */
export function transport(value: unknown): Transport {
  return choice(opt('--transport'), value, ['wire', 'object'] as const, 'wire');
}
