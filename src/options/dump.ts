/**
 * The one options normaliser for dump, shared by the CLI (which passes the
 * flag strings as typed) and the library (numbers, booleans, Dates). It fills
 * defaults and refuses bad input with DSPIPE_INVALID_OPTION quoting the value,
 * before anything is read or written.
 */
import type { Selection } from '../format/selection.js';
import type { FileCompression } from '../format/file-names.js';
import { normalizeShard, type ShardSpec } from './shard.js';
import { boolean, choice, conflict, DEFAULT_ROOT, folderName, folderPath, invalid, opt, selection, text, transport, wholeNumber, type Transport } from './validate.js';

export const DUMP_DEFAULTS = {
  root: DEFAULT_ROOT,
  /** zstd's own default: fast, and NDJSON of entities still shrinks 5-10x. */
  level: 3,
  /**
   * Kinds read at once. With up to 4 splits each that is up to 16 RunQuery
   * streams, enough to keep a remote Datastore busy from one machine without
   * tripping its ramp-up limits.
   */
  concurrency: 4,
  /**
   * RunQuery streams (readers) of its own for a large kind when --splits is
   * auto; it grows into the dump's spare ones (concurrency × autoSplits in
   * all, commands/dump.ts) while fewer kinds than `concurrency` are read.
   */
  autoSplits: 4,
  /**
   * With --splits auto, one reader per this many entities (by a count at the
   * read time), up to autoSplits: one RunQuery stream reads a few thousand
   * entities/s from production, so smaller kinds gain nothing from splitting.
   */
  autoSplitMinEntities: 5_000,
  /**
   * A kind read by more than one stream is cut into key ranges of about this
   * many entities (at least one per stream, at most MAX_RANGES), read lowest
   * first: the streams ahead of the one being written then hold a few small
   * ranges, not most of the kind, and keep reading (entity-reader.ts).
   */
  rangeEntities: 1_500,
} as const;

/**
 * Most key ranges a kind is cut into (its __scatter__ sample asks for 32 keys
 * a range, 8,160 keys at most: a few keys-only pages). Past ~380k entities the
 * ranges grow past rangeEntities and a single process reads a kind more
 * slowly than its streams could; `dump --plan` / `--shard` spreads such
 * kinds over processes.
 */
export const MAX_RANGES = 256;

export type SplitsOption = number | 'auto';

/** Most RunQuery streams per kind (--splits), and most entities per RunQuery page, dspipe asks for. */
export const MAX_SPLITS = 64;
export const MAX_PAGE_SIZE = 10_000;

export interface DumpOptions {
  /** Dump name: the folder under `root`. Default: a UTC timestamp like 20261122T094500Z. */
  name?: string;
  /** Folder holding dumps. Default `_backup`. */
  root?: string;
  /** '-' streams NDJSON of every selected kind to `output` (stdout) instead of writing a folder. */
  out?: string;
  namespaces?: string | readonly string[];
  kinds?: string | readonly string[];
  /** Default 'zstd' for folders, 'none' for `out: '-'`. */
  compress?: 'zstd' | 'none';
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
  /** 'dump' (dspipe's own, the default) or 'export': a managed export `gcloud datastore import` reads. */
  format?: 'dump' | 'export';
  /** With format 'export': refuse entities the export cannot keep exactly instead of warning. */
  strict?: boolean;
  /** Sharded dumps: write `<dump>/plan.json` (read time, kinds, key ranges) and stop. */
  plan?: boolean;
  /** Sharded dumps: dump this task's parts of the plan: 'I/N' (from 0) or 'auto' (Cloud Run / Kubernetes environment). */
  shard?: string;
  /** With shard 'auto' in a Kubernetes Indexed Job: the job's task count. */
  shardCount?: number | string;
  /** Sharded dumps: check every part and write the finished dump (the same as a single-machine dump). */
  finalize?: boolean;
  /** With plan: entities per part (key range) at most, about (default 100,000). */
  partEntities?: number | string;
  /** Where shard 'auto' looks (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** 'wire' (default): RunQuery bytes straight to lines; 'object': through the client library's entity objects. */
  transport?: Transport;
}

export const DEFAULT_PART_ENTITIES = 100_000;

export interface Sharding {
  mode: 'none' | 'plan' | 'shard' | 'finalize';
  shard: ShardSpec | undefined;
  partEntities: number;
}

export interface NormalizedDumpOptions {
  format: 'dump' | 'export';
  strict: boolean;
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
  sharding: Sharding;
  transport: Transport;
}

/** 20261122T094500Z: sorts by time, and is a valid folder name everywhere. */
export function timestampName(now: Date = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

const READ_TIME = opt('--read-time');
const SNAPSHOT = opt('--no-snapshot', 'snapshot');
const TIME_HINT = 'write it like 2026-11-22T09:45:00Z or 2026-11-22T09:45:00.123456Z';

/** Parses an RFC 3339 time and returns it with microsecond precision, as Datastore wants read times. */
export function normalizeReadTime(value: unknown, name = READ_TIME): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) invalid(name, value, 'is not a time', TIME_HINT);
    return value.toISOString().replace(/Z$/, '000Z');
  }
  const m = typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(value.trim()) : null;
  const base = m ? new Date(`${m[1]}T${m[2]}${m[4]!.toUpperCase()}`) : undefined;
  if (!m || base === undefined || Number.isNaN(base.getTime())) {
    return invalid(name, value, 'is not an RFC 3339 time', TIME_HINT);
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
  const root = folderPath(opt('--root'), options.root);
  const name = folderName(opt('--name'), options.name ?? timestampName(now), 'use letters, digits, dots, dashes and underscores, e.g. -n 20261122');
  if (options.out !== undefined && !toStdout) {
    invalid(opt('--out'), options.out, 'is not supported', 'use --out - for stdout, or --root DIR and -n NAME to choose the dump folder');
  }

  const compression = choice(opt('--compress'), options.compress, ['zstd', 'none'] as const, toStdout ? 'none' : 'zstd');
  const level = wholeNumber(opt('--level'), options.level, 1, 22, DUMP_DEFAULTS.level);
  const splits: SplitsOption = options.splits === 'auto' ? 'auto' : wholeNumber(opt('--splits'), options.splits, 1, MAX_SPLITS) ?? 'auto';
  const concurrency = wholeNumber(opt('--concurrency'), options.concurrency, 1, 64, DUMP_DEFAULTS.concurrency);
  const pageSize = wholeNumber(opt('--page-size'), options.pageSize, 1, MAX_PAGE_SIZE);

  const snapshot = boolean(SNAPSHOT, options.snapshot, true);
  let readTime: string | undefined;
  if (options.readTime !== undefined) {
    if (!snapshot) conflict(READ_TIME, SNAPSHOT, 'contradicts', 'drop one of the two');
    readTime = normalizeReadTime(options.readTime);
    if (Date.parse(readTime) > now.getTime()) invalid(READ_TIME, options.readTime, 'is in the future', 'Datastore reads at a time no later than now');
    const problem = readTimeProblem(readTime, now);
    if (problem) invalid(READ_TIME, options.readTime, problem.what, problem.hint);
  }

  const force = boolean(opt('--force'), options.force, false);
  const resume = boolean(opt('--resume'), options.resume, false);
  if (force && resume) conflict(opt('--resume'), opt('--force'), 'cannot be combined with', '--force starts over; --resume keeps completed kinds');
  if (toStdout && resume) conflict(opt('--resume'), { flag: '--out -', option: 'out' }, 'cannot be used with', 'resume works on dump folders');
  const format = choice(opt('--format'), options.format, ['dump', 'export'] as const, 'dump');
  const strict = boolean(opt('--strict'), options.strict, false);
  if (format === 'export') {
    if (toStdout) conflict(opt('--format export', 'format'), { flag: '--out -', option: 'out' }, 'cannot be used with', 'a managed export is a folder: leave out --out -');
    if (resume) conflict(opt('--resume'), opt('--format export', 'format'), 'cannot be used with', 'run the dump again (or dump in dspipe format, resume it, then dspipe convert)');
  } else if (strict) conflict(opt('--strict'), opt('--format export', 'format'), 'only applies with', 'add --format export');
  const sharding = normalizeSharding(options, { toStdout, resume, force, format });


  return {
    format,
    strict,
    name,
    root,
    dir: toStdout ? null : joinPath(root, name),
    toStdout,
    selection: selection(options),
    compression,
    level,
    splits,
    concurrency,
    pageSize,
    snapshot,
    readTime,
    force,
    resume,
    optionsFile: text(opt('--options', 'optionsFile'), options.optionsFile, 'name a JSON file, e.g. --options _backup/options.json', joinPath(root, 'options.json')),
    sharding,
    transport: transport(options.transport),
  };
}

const PLAN = opt('--plan');
const SHARD = opt('--shard');
const FINALIZE = opt('--finalize');

/** --plan, --shard, --finalize: one at a time, on a dump folder in dspipe's format. */
function normalizeSharding(options: DumpOptions, o: { toStdout: boolean; resume: boolean; force: boolean; format: string }): Sharding {
  const plan = boolean(PLAN, options.plan, false);
  const finalize = boolean(FINALIZE, options.finalize, false);
  const shard = normalizeShard(options.shard, options.shardCount, options.env);
  const partEntities = wholeNumber(opt('--part-entities'), options.partEntities, 1, Number.MAX_SAFE_INTEGER, DEFAULT_PART_ENTITIES);
  const modes = [plan && PLAN, shard && SHARD, finalize && FINALIZE].filter((m) => m !== false && m !== undefined);
  if (modes.length > 1) conflict(modes[0]!, modes[1]!, 'cannot be combined with', 'plan first, then run the shards, then finalize (the last shard to finish finalizes by itself)');
  const mode = plan ? 'plan' : shard ? 'shard' : finalize ? 'finalize' : 'none';
  if (mode !== 'none') {
    const which = modes[0]!;
    if (o.toStdout) conflict(which, { flag: '--out -', option: 'out' }, 'cannot be used with', 'a sharded dump is a folder');
    if (o.resume) conflict(which, opt('--resume'), 'cannot be used with', 'a shard run again redoes only its own unfinished parts: just run it again');
    if (o.format !== 'dump') conflict(which, opt('--format export', 'format'), 'cannot be used with', 'dump sharded, then dspipe convert the finished dump');
    if (o.force && mode !== 'plan') conflict(opt('--force'), which, 'only goes with --plan', 'make a new plan with --plan --force');
  }
  if (options.partEntities !== undefined && mode !== 'plan') conflict(opt('--part-entities'), PLAN, 'only applies with', 'add --plan');
  return { mode, shard, partEntities };
}

// Pure string join (src/format has no I/O and no node:path dependence on the platform).
function joinPath(a: string, b: string): string {
  return a.endsWith('/') ? `${a}${b}` : `${a}/${b}`;
}
