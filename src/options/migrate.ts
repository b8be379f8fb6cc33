/**
 * One options normaliser for `dspipe migrate`, shared by the CLI and the
 * library: fills defaults and refuses bad values with a coded error quoting
 * them.
 */
import { DspipeError } from '../errors.js';
import { parseNameFilter, type NameFilter } from '../format/selection.js';
import type { BuiltinTransform } from '../format/transforms.js';

export const DEFAULT_MIGRATIONS_DIR = 'migrations';
export const DEFAULT_BACKUP_ROOT = '_backup';
/** Kind of the records of applied migrations (key name = migration name, default namespace). */
export const MIGRATION_KIND = 'DspipeMigration';

export interface MigrateOptions {
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
  writers?: number;
  /** At most this many entities per commit (default 500; batches are also capped by bytes). */
  batchSize?: number;
  /** Attempts per entity when concurrent writes conflict (default 20). */
  maxConflictAttempts?: number;
  /** Save the checkpoint after at most this many entities (default 500). */
  checkpointEvery?: number;
  /** Before/after examples kept for --dry-run (default 3). */
  examples?: number;
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
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `${name} must be a whole number of at least ${min}, got ${JSON.stringify(value)}`, {
      hint: `e.g. ${name} ${fallback}`,
    });
  }
  return value;
}

export function normalizeMigrateOptions(options: MigrateOptions = {}): NormalizedMigrateOptions {
  if (options.dir !== undefined && options.dir.trim() === '') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', '--dir is empty', { hint: `name the folder of migration scripts (default ${DEFAULT_MIGRATIONS_DIR})` });
  }
  if (options.to !== undefined && options.to.trim() === '') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', '--to is empty', { hint: 'name a migration, e.g. --to 0002-drop-legacy' });
  }
  if (options.dryRun === true && options.backup === true) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', '--backup has no use with --dry-run', { hint: 'a dry run writes nothing; drop --backup' });
  }
  return {
    dir: options.dir ?? DEFAULT_MIGRATIONS_DIR,
    to: options.to?.replace(/\.(ts|mts|js|mjs)$/, ''),
    dryRun: options.dryRun === true,
    backup: options.backup === true,
    backupRoot: options.backupRoot ?? DEFAULT_BACKUP_ROOT,
    allowChanged: options.allowChanged === true,
    namespaces: parseNameFilter(options.namespaces, '--namespaces', true),
    writers: positive('--writers', options.writers, 4),
    batchSize: positive('--batch-size', options.batchSize, 500),
    maxConflictAttempts: positive('--max-conflict-attempts', options.maxConflictAttempts, 20),
    checkpointEvery: positive('--checkpoint-every', options.checkpointEvery, 500),
    examples: positive('--examples', options.examples, 3, 0),
  };
}

export interface RunTransformsOptions extends MigrateOptions {
  /** The kind to rewrite (required). */
  kind?: string;
  /** Applied in order. */
  transforms?: readonly BuiltinTransform[];
}

export function normalizeRunOptions(options: RunTransformsOptions): NormalizedMigrateOptions & { kind: string; transforms: readonly BuiltinTransform[] } {
  const base = normalizeMigrateOptions(options);
  const kind = options.kind;
  if (kind === undefined || kind.trim() === '') {
    throw new DspipeError('DSPIPE_INVALID_OPTION', 'migrate run needs --kind', { hint: 'e.g. dspipe migrate run --kind User --drop legacyField' });
  }
  if (/^__.*__$/.test(kind)) throw new DspipeError('DSPIPE_INVALID_OPTION', `--kind ${JSON.stringify(kind)} is a reserved kind`, { kind });
  const transforms = options.transforms ?? [];
  if (transforms.length === 0) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', 'migrate run needs at least one transform', {
      hint: 'give --rename old=new, --drop prop, --convert prop:timestamp->string[:format] or --set prop=TYPE:VALUE',
    });
  }
  return { ...base, kind, transforms };
}
