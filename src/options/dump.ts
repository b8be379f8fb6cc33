/**
 * The one options normaliser for dump, shared by the CLI (which passes the
 * flag strings as typed) and the library (numbers, booleans, Dates). It fills
 * defaults and refuses bad input with DSPIPE_INVALID_OPTION quoting the value,
 * before anything is read or written.
 */
import { DspipeError } from '../errors.js';
import { parseSelection, type Selection } from '../format/selection.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../datastore/retry.js';
import type { ConnectionOptions } from '../datastore/connection.js';
import type { FileCompression } from '../format/file-names.js';

export const DUMP_DEFAULTS = {
  root: '_backup',
  /** zstd's own default: fast, and NDJSON of entities still shrinks 5-10x. */
  level: 3,
  /**
   * Kinds read at once. With up to 4 splits each that is up to 16 RunQuery
   * streams, enough to keep a remote Datastore busy from one machine without
   * tripping its ramp-up limits.
   */
  concurrency: 4,
  /** Key ranges for a large kind when --splits is auto. */
  autoSplits: 4,
  /**
   * With --splits auto, one reader per this many entities (by a count at the
   * read time), up to autoSplits: one RunQuery stream reads a few thousand
   * entities/s from production, so smaller kinds gain nothing from splitting.
   */
  autoSplitMinEntities: 5_000,
} as const;

export type SplitsOption = number | 'auto';

export interface DumpOptions extends ConnectionOptions {
  /** Dump name: the folder under `root`. Default: a UTC timestamp like 20261122T094500Z. */
  name?: string;
  /** Folder holding dumps. Default `_backup`. */
  root?: string;
  /** '-' streams NDJSON of every selected kind to `output` (stdout) instead of writing a folder. */
  out?: string;
  namespaces?: string | readonly string[];
  kinds?: string | readonly string[];
  /** Default 'zstd' for folders, 'none' for `out: '-'`. */
  compress?: string;
  level?: number | string;
  /** Key ranges read in parallel per kind, or 'auto' (the default). */
  splits?: SplitsOption | string;
  /** Kinds in flight. */
  concurrency?: number | string;
  /** Entities per RunQuery page; default: as many as Datastore returns (about 300). */
  pageSize?: number | string;
  /** Read one consistent snapshot (default true); false reads current data. */
  snapshot?: boolean;
  /** Snapshot time to read at instead of "now" (within the database's version retention). */
  readTime?: string | Date;
  force?: boolean;
  resume?: boolean;
  /** Per-kind overrides; default `<root>/options.json`. */
  optionsFile?: string;
  retry?: Partial<RetryPolicy>;
}

export interface NormalizedDumpOptions {
  name: string;
  root: string;
  /** Dump folder, or null when streaming to stdout. */
  dir: string | null;
  toStdout: boolean;
  selection: Selection;
  compression: FileCompression;
  level: number;
  splits: SplitsOption;
  concurrency: number;
  pageSize: number | undefined;
  snapshot: boolean;
  /** Explicit read time (RFC 3339, microseconds), when given. */
  readTime: string | undefined;
  force: boolean;
  resume: boolean;
  optionsFile: string;
  retry: RetryPolicy;
  connection: ConnectionOptions;
}

function invalid(option: string, value: unknown, what: string, hint?: string): never {
  throw new DspipeError('DSPIPE_INVALID_OPTION', `${option} ${JSON.stringify(value instanceof Date ? value.toISOString() : value)} ${what}`, {
    hint: hint ?? `see dspipe dump --help`,
  });
}

function wholeNumber(option: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    invalid(option, value, `is not a whole number from ${min} to ${max}`);
  }
  return n;
}

/** 20261122T094500Z: sorts by time, and is a valid folder name everywhere. */
export function timestampName(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.trim() !== name) {
    invalid('--name', name, 'is not a plain folder name', 'use letters, digits, dots, dashes and underscores, e.g. -n 20261122');
  }
  return name;
}

/** Parses an RFC 3339 time and returns it with microsecond precision, as Datastore wants read times. */
export function normalizeReadTime(value: string | Date, option = '--read-time'): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) invalid(option, 'Invalid Date', 'is not a time');
    return value.toISOString().replace(/Z$/, '000Z');
  }
  const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(value.trim());
  const base = m ? new Date(`${m[1]}T${m[2]}${m[4]!.toUpperCase()}`) : undefined;
  if (!m || base === undefined || Number.isNaN(base.getTime())) {
    return invalid(option, value, 'is not an RFC 3339 time', 'write it like 2026-11-22T09:45:00Z or 2026-11-22T09:45:00.123456Z');
  }
  const frac = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return `${base.toISOString().slice(0, 19)}.${frac}Z`;
}

const HOUR_MS = 3600_000;
const PITR_WINDOW_MS = 7 * 24 * HOUR_MS;

/**
 * Why Datastore would refuse to read at this time, if it would: read times
 * are served for the last hour at microsecond precision, and with
 * point-in-time recovery for 7 days at whole minutes only.
 */
export function readTimeProblem(readTime: string, now: Date = new Date()): { what: string; hint: string } | undefined {
  const age = now.getTime() - Date.parse(readTime);
  if (age <= HOUR_MS) return undefined;
  if (age > PITR_WINDOW_MS) return { what: 'is more than 7 days old', hint: 'Datastore keeps old versions for at most 7 days (with point-in-time recovery)' };
  if (!/:00\.000000Z$/.test(readTime)) {
    return { what: 'is more than an hour old and not a whole minute', hint: 'older read times need point-in-time recovery and a whole minute, e.g. 2026-11-22T09:45:00Z' };
  }
  return undefined;
}

export function normalizeDumpOptions(options: DumpOptions = {}, now: Date = new Date()): NormalizedDumpOptions {
  const toStdout = options.out === '-';
  const root = options.root ?? DUMP_DEFAULTS.root;
  if (root === '') invalid('--root', root, 'is empty');
  const name = checkName(options.name ?? timestampName(now));
  if (options.out !== undefined && !toStdout) {
    invalid('--out', options.out, 'is not supported', 'use --out - for stdout, or --root DIR and -n NAME to choose the dump folder');
  }

  const compress = options.compress ?? (toStdout ? 'none' : 'zstd');
  if (compress !== 'zstd' && compress !== 'none') invalid('--compress', compress, 'is not a compression', 'use --compress zstd or --compress none');
  const level = wholeNumber('--level', options.level ?? DUMP_DEFAULTS.level, 1, 22);
  const splits: SplitsOption =
    options.splits === undefined || options.splits === 'auto' ? 'auto' : wholeNumber('--splits', options.splits, 1, 64);
  const concurrency = wholeNumber('--concurrency', options.concurrency ?? DUMP_DEFAULTS.concurrency, 1, 64);
  const pageSize = options.pageSize === undefined ? undefined : wholeNumber('--page-size', options.pageSize, 1, 10_000);

  const snapshot = options.snapshot ?? true;
  let readTime: string | undefined;
  if (options.readTime !== undefined) {
    if (!snapshot) invalid('--read-time', options.readTime, 'contradicts --no-snapshot', 'drop one of the two');
    readTime = normalizeReadTime(options.readTime);
    if (Date.parse(readTime) > now.getTime()) invalid('--read-time', options.readTime, 'is in the future', 'Datastore reads at a time no later than now');
    const problem = readTimeProblem(readTime, now);
    if (problem) invalid('--read-time', options.readTime, problem.what, problem.hint);
  }

  const force = options.force ?? false;
  const resume = options.resume ?? false;
  if (force && resume) invalid('--resume', true, 'cannot be combined with --force', '--force starts over; --resume keeps completed kinds');
  if (toStdout && resume) invalid('--resume', true, 'cannot be used with --out -', 'resume works on dump folders');

  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  wholeNumber('retry.maxAttempts', retry.maxAttempts, 1, 1000);

  const connection: ConnectionOptions = {};
  if (options.projectId !== undefined) connection.projectId = options.projectId;
  if (options.databaseId !== undefined) connection.databaseId = options.databaseId;
  if (options.emulatorHost !== undefined) connection.emulatorHost = options.emulatorHost;

  return {
    name,
    root,
    dir: toStdout ? null : joinPath(root, name),
    toStdout,
    selection: parseSelection({ namespaces: options.namespaces, kinds: options.kinds }),
    compression: compress,
    level,
    splits,
    concurrency,
    pageSize,
    snapshot,
    readTime,
    force,
    resume,
    optionsFile: options.optionsFile ?? joinPath(root, 'options.json'),
    retry,
    connection,
  };
}

// Pure string join (src/format has no I/O and no node:path dependence on the platform).
function joinPath(a: string, b: string): string {
  return a.endsWith('/') ? `${a}${b}` : `${a}/${b}`;
}
