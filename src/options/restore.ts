/**
 * The option normalisers of `restore` and `clear`, shared by the CLI and the
 * library: defaults filled in one place, every bad value refused with a coded
 * error that quotes it.
 */
import { DspipeError } from '../errors.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../datastore/retry.js';
import { parseSelection, type Selection } from '../format/selection.js';
import { parseNamespaceMap } from '../format/key-rewrite.js';
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { MAX_REQUEST_BYTES } from '../model/limits.js';

export const DEFAULT_ROOT = '_backup';
export const DEFAULT_RESTORE_CONCURRENCY = 4;
export const DEFAULT_WRITERS = 4;

export interface RestoreOptionsInput {
  /** Dump name: the folder `<root>/<name>`. */
  name?: string;
  /** A dump folder path, or '-' for NDJSON (plain or zstd) on stdin. Instead of `name`. */
  in?: string;
  /** Folder holding dumps and options.json (default `_backup`). */
  root?: string;
  kinds?: string | readonly string[];
  namespaces?: string | readonly string[];
  /** `old=new` entries, or an object; `(default)` names the default namespace. */
  namespaceMap?: string | readonly string[] | Readonly<Record<string, string>>;
  mode?: string;
  /** Kinds restored at the same time. */
  concurrency?: number | string;
  /** Concurrent commits per kind. */
  writers?: number | string;
  /** Most mutations per commit (options.json restore.batchSize may lower it per kind). */
  batchSize?: number | string;
  /** Most encoded mutation bytes per commit. */
  batchBytes?: number | string;
  onError?: string;
  /** Where rejected entities go with onError 'skip' (default `<dump>/rejects.ndjson`). */
  rejects?: string;
  dryRun?: boolean;
  /** Per-kind overrides (restore.batchSize, restore.writers); default `<root>/options.json`. */
  optionsFile?: string;
  retry?: Partial<RetryPolicy>;
}

export interface RestoreOptions {
  source: { type: 'folder'; dir: string } | { type: 'stdin' };
  root: string;
  selection: Selection;
  namespaceMap: Map<string, string>;
  mode: 'upsert' | 'insert';
  concurrency: number;
  writers: number;
  batchSize: number;
  batchBytes: number;
  onError: 'fail' | 'skip';
  rejects: string | undefined;
  dryRun: boolean;
  optionsFile: string;
  retry: RetryPolicy;
}

function invalid(message: string, hint: string): never {
  throw new DspipeError('DSPIPE_INVALID_OPTION', message, { hint });
}

export function positiveInt(value: number | string | undefined, option: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    invalid(`${option} must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}`, `e.g. ${option} ${fallback}`);
  }
  return n;
}

function choice<T extends string>(value: string | undefined, option: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    invalid(`${option} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, `e.g. ${option} ${fallback}`);
  }
  return value as T;
}

function retryPolicy(input: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRY, ...input };
  if (!(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1)) invalid(`retry.maxAttempts must be at least 1, got ${policy.maxAttempts}`, 'e.g. 10');
  return policy;
}

export function normalizeRestoreOptions(input: RestoreOptionsInput): RestoreOptions {
  const root = input.root ?? DEFAULT_ROOT;
  if (root === '') invalid('--root must not be empty', `leave it out for ${DEFAULT_ROOT}`);
  if (input.name !== undefined && input.in !== undefined) {
    invalid('give either --name or --in, not both', 'use -n NAME for <root>/NAME, or --in PATH for any dump folder (--in - for stdin)');
  }
  let source: RestoreOptions['source'];
  if (input.in !== undefined) {
    if (input.in === '') invalid('--in must not be empty', 'give a dump folder, or - for stdin');
    source = input.in === '-' ? { type: 'stdin' } : { type: 'folder', dir: input.in };
  } else if (input.name !== undefined) {
    if (input.name === '' || input.name === '.' || input.name === '..' || /[/\\]/.test(input.name)) {
      invalid(`dump name ${JSON.stringify(input.name)} is not a folder name`, 'use --in PATH to restore from a path');
    }
    source = { type: 'folder', dir: `${root}/${input.name}` };
  } else {
    return invalid('which dump? no --name or --in given', `e.g. dspipe restore -n 20261122 (restores ${DEFAULT_ROOT}/20261122), or --in - for stdin`);
  }
  const onError = choice(input.onError, '--on-error', ['fail', 'skip'] as const, 'fail');
  if (input.rejects !== undefined && onError !== 'skip') invalid('--rejects only applies with --on-error skip', 'add --on-error skip');
  return {
    source,
    root,
    selection: parseSelection({ ...(input.kinds !== undefined && { kinds: input.kinds }), ...(input.namespaces !== undefined && { namespaces: input.namespaces }) }),
    namespaceMap: parseNamespaceMap(input.namespaceMap),
    mode: choice(input.mode, '--mode', ['upsert', 'insert'] as const, 'upsert'),
    concurrency: positiveInt(input.concurrency, '--concurrency', DEFAULT_RESTORE_CONCURRENCY, 256),
    writers: positiveInt(input.writers, '--writers', DEFAULT_WRITERS, 256),
    batchSize: positiveInt(input.batchSize, '--batch-size', DEFAULT_MAX_BATCH_OPS, 100_000),
    batchBytes: positiveInt(input.batchBytes, '--batch-bytes', DEFAULT_MAX_BATCH_BYTES, MAX_REQUEST_BYTES),
    onError,
    rejects: input.rejects,
    dryRun: input.dryRun ?? false,
    optionsFile: input.optionsFile ?? `${root}/options.json`,
    retry: retryPolicy(input.retry),
  };
}

export const DEFAULT_CLEAR_CONCURRENCY = 4;

export interface ClearOptionsInput {
  kinds?: string | readonly string[];
  namespaces?: string | readonly string[];
  /** Confirms the deletion. Against a real project `confirmProject` must name it too. */
  yes?: boolean;
  /** The project the user named on the command line (`--project`), checked against the one resolved. */
  confirmProject?: string;
  concurrency?: number | string;
  writers?: number | string;
  batchSize?: number | string;
  retry?: Partial<RetryPolicy>;
}

export interface ClearOptions {
  selection: Selection;
  yes: boolean;
  confirmProject: string | undefined;
  concurrency: number;
  writers: number;
  batchSize: number;
  retry: RetryPolicy;
}

export function normalizeClearOptions(input: ClearOptionsInput): ClearOptions {
  return {
    selection: parseSelection({ ...(input.kinds !== undefined && { kinds: input.kinds }), ...(input.namespaces !== undefined && { namespaces: input.namespaces }) }),
    yes: input.yes ?? false,
    confirmProject: input.confirmProject,
    concurrency: positiveInt(input.concurrency, '--concurrency', DEFAULT_CLEAR_CONCURRENCY, 256),
    writers: positiveInt(input.writers, '--writers', DEFAULT_WRITERS, 256),
    batchSize: positiveInt(input.batchSize, '--batch-size', DEFAULT_MAX_BATCH_OPS, 100_000),
    retry: retryPolicy(input.retry),
  };
}

/**
 * Clear deletes everything, so it asks twice against production: `--yes`,
 * and the project named with `--project` (not just taken from the
 * environment). Against an emulator `--yes` is enough.
 */
export function checkClearConfirmation(options: ClearOptions, target: { projectId: string; databaseId: string; emulatorHost?: string }): void {
  const where = `project ${JSON.stringify(target.projectId)}${target.databaseId ? ` database ${JSON.stringify(target.databaseId)}` : ''}`;
  if (!options.yes) {
    throw new DspipeError('DSPIPE_CONFIRMATION_REQUIRED', `clear deletes every selected entity in ${where}; not confirmed`, {
      hint: target.emulatorHost !== undefined ? 'add --yes to confirm' : `add --yes --project ${target.projectId} to confirm`,
    });
  }
  if (target.emulatorHost === undefined && options.confirmProject !== target.projectId) {
    throw new DspipeError('DSPIPE_CONFIRMATION_REQUIRED',
      options.confirmProject === undefined
        ? `clear against a real project needs it named explicitly (${where})`
        : `--project ${JSON.stringify(options.confirmProject)} does not match the target ${where}`,
      { hint: `add --project ${target.projectId} to confirm which project you mean` });
  }
}
