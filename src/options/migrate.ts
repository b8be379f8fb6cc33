/**
 * One options normaliser for `dspipe migrate`, shared by the CLI and the
 * library: fills defaults and refuses bad values with a coded error quoting
 * them.
 */
import type { NameFilter } from '../format/selection.js';
import type { BuiltinTransform } from '../format/transforms.js';
import { isReservedName } from '../model/limits.js';
import {
  boolean, choice, conflict, folderName, folderPath, invalid, missing, nameList, opt, text, wholeNumber, type OptionName,
} from './validate.js';
import { MAX_PAGE_SIZE } from './dump.js';
import { MAX_BATCH_SIZE, MAX_PARALLEL } from './restore.js';
import { normalizeWriteRate, type WriteRateInput, type WriteRateSetting } from './write-rate.js';

export const DEFAULT_MIGRATIONS_DIR = 'migrations';
/** Kind of the records of applied migrations (key name = migration name, default namespace). */
export const MIGRATION_KIND = 'DspipeMigration';

export interface MigrateOptions extends WriteRateInput {
  /** Folder of migration scripts (default `migrations`). */
  dir?: string;
  /** `up`: stop after this migration (its name, with or without the extension). */
  to?: string;
  /** Read and transform everything, write nothing, report what would change. */
  dryRun?: boolean;
  /** Dump the touched kinds to `<backupRoot>/pre-<migration>/` before writing. */
  backup?: boolean;
  backupRoot?: string;
  /** Run a script whose checksum differs from the one recorded when it was applied. */
  allowChanged?: boolean;
  /** Limit the namespaces migrated (comma list, `(default)` for the default one). Default: all. */
  namespaces?: string | readonly string[];
  /** Concurrent commits per kind (default 4). */
  writers?: number | string;
  /** At most this many entities per commit (default 500; batches are also capped by bytes). */
  batchSize?: number | string;
  /** Attempts per entity when concurrent writes conflict (default 20). */
  maxConflictAttempts?: number | string;
  /** Save the checkpoint after at most this many entities (default 500). */
  checkpointEvery?: number | string;
  /** Before/after examples kept for --dry-run (default 3). */
  examples?: number | string;
  /** Entities per RunQuery page (default: what Datastore returns). */
  pageSize?: number | string;
  /** `up`: run the TypeScript compiler on the scripts first and refuse to run on a type error. */
  typecheck?: boolean;
}

export interface NormalizedMigrateOptions {
  dir: string;
  to: string | undefined;
  dryRun: boolean;
  backup: boolean;
  backupRoot: string;
  allowChanged: boolean;
  namespaces: NameFilter;
  writers: number;
  batchSize: number;
  maxConflictAttempts: number;
  checkpointEvery: number;
  examples: number;
  pageSize: number | undefined;
  writeRate: WriteRateSetting;
  typecheck: boolean;
}

export function normalizeMigrateOptions(options: MigrateOptions = {}): NormalizedMigrateOptions {
  const dryRun = boolean(opt('--dry-run'), options.dryRun, false);
  const backup = boolean(opt('--backup'), options.backup, false);
  if (dryRun && backup) conflict(opt('--backup'), opt('--dry-run'), 'has no use with', 'a dry run writes nothing; drop --backup');
  const to = options.to === undefined ? undefined : folderName(opt('--to'), options.to, 'name a migration, e.g. --to 0002-drop-legacy');
  return {
    dir: folderPath(opt('--dir'), options.dir, DEFAULT_MIGRATIONS_DIR),
    to: to?.replace(/\.(ts|mts|js|mjs)$/, ''),
    dryRun,
    backup,
    backupRoot: folderPath(opt('--backup-root'), options.backupRoot),
    allowChanged: boolean(opt('--allow-changed'), options.allowChanged, false),
    namespaces: nameList(opt('--namespaces'), options.namespaces, true),
    writers: wholeNumber(opt('--writers'), options.writers, 1, MAX_PARALLEL, 4),
    batchSize: wholeNumber(opt('--batch-size'), options.batchSize, 1, MAX_BATCH_SIZE, 500),
    maxConflictAttempts: wholeNumber(opt('--max-conflict-attempts'), options.maxConflictAttempts, 1, Number.MAX_SAFE_INTEGER, 20),
    checkpointEvery: wholeNumber(opt('--checkpoint-every'), options.checkpointEvery, 1, Number.MAX_SAFE_INTEGER, 500),
    examples: wholeNumber(opt('--examples'), options.examples, 0, Number.MAX_SAFE_INTEGER, 3),
    pageSize: wholeNumber(opt('--page-size'), options.pageSize, 1, MAX_PAGE_SIZE),
    writeRate: normalizeWriteRate(options),
    typecheck: boolean(opt('--typecheck'), options.typecheck, false),
  };
}

/** `migrate up`: a migration is recorded as applied for the whole database, so a run limited to some namespaces would be recorded as complete. */
export function normalizeUpOptions(options: MigrateOptions = {}): NormalizedMigrateOptions {
  const o = normalizeMigrateOptions(options);
  if (!o.dryRun && (o.namespaces.include.length > 0 || o.namespaces.exclude.length > 0)) {
    invalid(opt('--namespaces'), options.namespaces, 'cannot limit migrate up (the migration would be recorded as applied everywhere)',
      "limit the script itself with export const namespaces = 'tenant-*', or use --namespaces with --dry-run or migrate run");
  }
  return o;
}

export interface RunTransformsOptions extends MigrateOptions {
  /** The kind to rewrite (required). */
  kind?: string;
  /** Applied in order. */
  transforms?: readonly BuiltinTransform[];
}

const KIND = opt('--kind');
const TRANSFORM_TYPES = ['rename', 'drop', 'convert', 'set'] as const;
const TRANSFORMS: OptionName = { flag: 'a transform (--rename, --drop, --convert or --set)', option: 'transforms' };
const TRANSFORM_HINT = 'give --rename old=new, --drop prop, --convert prop:timestamp->string[:format] or --set prop=TYPE:VALUE';

export function normalizeRunOptions(options: RunTransformsOptions): NormalizedMigrateOptions & { kind: string; transforms: readonly BuiltinTransform[] } {
  const base = normalizeMigrateOptions(options);
  if (options.kind === undefined) missing([KIND], 'e.g. dspipe migrate run --kind User --drop legacyField');
  const kind = text(KIND, options.kind, 'e.g. dspipe migrate run --kind User --drop legacyField');
  if (kind.trim() === '') invalid(KIND, kind, 'is blank', 'e.g. dspipe migrate run --kind User --drop legacyField');
  if (isReservedName(kind)) invalid(KIND, kind, 'is a reserved kind', 'kinds named __*__ are Datastore\'s own');
  const transforms = options.transforms ?? [];
  if (!Array.isArray(transforms)) invalid(TRANSFORMS, transforms, 'is not a list of transforms', TRANSFORM_HINT);
  if (transforms.length === 0) missing([TRANSFORMS], TRANSFORM_HINT);
  transforms.forEach((t: unknown, i) => {
    choice({ option: `transforms[${i}].type` }, (t as { type?: unknown } | null)?.type ?? null, TRANSFORM_TYPES, 'drop');
  });
  return { ...base, kind, transforms };
}
