/**
 * The option normaliser of `restore`, shared by the CLI and the library:
 * defaults filled in one place, every bad value refused with a coded error
 * that quotes it.
 */
import type { Selection } from '../format/selection.js';
import { parseNamespaceMap } from '../format/key-rewrite.js';
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { MAX_REQUEST_BYTES } from '../model/limits.js';
import {
  boolean, choice, conflict, DEFAULT_ROOT, folderName, folderPath, invalid, missing, opt, parsed, selection, text, transport, wholeNumber, type Transport,
} from './validate.js';
import { normalizeShard, type ShardSpec } from './shard.js';
import { normalizeWriteRate, type WriteRateInput, type WriteRateSetting } from './write-rate.js';

export const DEFAULT_RESTORE_CONCURRENCY = 4;
export const DEFAULT_WRITERS = 4;
/** Kinds at once and commits per kind, for restore and clear alike. */
export const MAX_PARALLEL = 256;
/** Most mutations per commit, for restore and clear alike. */
export const MAX_BATCH_SIZE = 100_000;

export interface RestoreOptionsInput extends WriteRateInput {
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
  /** 'upsert' (default) overwrites; 'insert' refuses keys that exist. */
  mode?: 'upsert' | 'insert';
  /** Kinds restored at the same time. */
  concurrency?: number | string;
  /** Concurrent commits per kind. */
  writers?: number | string;
  /** Most mutations per commit (options.json restore.batchSize may lower it per kind). */
  batchSize?: number | string;
  /** Most encoded mutation bytes per commit. */
  batchBytes?: number | string;
  /** 'fail' (default) stops at a refused entity; 'skip' writes it to `rejects` and goes on. */
  onError?: 'fail' | 'skip';
  /** Where rejected entities go with onError 'skip' (default `<dump>/rejects.ndjson`). */
  rejects?: string;
  dryRun?: boolean;
  /** Per-kind overrides (restore.batchSize, restore.writers); default `<root>/options.json`. */
  optionsFile?: string;
  /** One task of a restore spread over many: 'I/N' (from 0) or 'auto' (Cloud Run / Kubernetes environment). */
  shard?: string;
  /** With shard 'auto' in a Kubernetes Indexed Job: the job's task count. */
  shardCount?: number | string;
  /** Where shard 'auto' looks (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** 'wire' (default): dump lines straight to Commit bytes; 'object': through the client library's entity objects. */
  transport?: Transport;
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
  writeRate: WriteRateSetting;
  shard: ShardSpec | undefined;
  transport: Transport;
}

const NAME = opt('--name');
const IN = opt('--in');
const ON_ERROR = opt('--on-error');
const NAMESPACE_MAP = opt('--namespace-map');

function isNamespaceMap(value: unknown): value is RestoreOptionsInput['namespaceMap'] {
  if (typeof value === 'string') return true;
  if (Array.isArray(value)) return value.every((s) => typeof s === 'string');
  return typeof value === 'object' && value !== null && Object.values(value).every((s) => typeof s === 'string');
}

export function normalizeRestoreOptions(input: RestoreOptionsInput): RestoreOptions {
  const root = folderPath(opt('--root'), input.root);
  if (input.name !== undefined && input.in !== undefined) {
    conflict(NAME, IN, 'cannot be combined with', 'use -n NAME for <root>/NAME, or --in PATH for any dump folder (--in - for stdin)');
  }
  let source: RestoreOptions['source'];
  if (input.in !== undefined) {
    const dir = folderPath(IN, input.in);
    source = dir === '-' ? { type: 'stdin' } : { type: 'folder', dir };
  } else if (input.name !== undefined) {
    source = { type: 'folder', dir: `${root}/${folderName(NAME, input.name, 'use --in PATH to restore from a path')}` };
  } else {
    return missing([NAME, IN], `e.g. dspipe restore -n 20261122 (restores ${DEFAULT_ROOT}/20261122), or --in - for stdin`);
  }
  const onError = choice(ON_ERROR, input.onError, ['fail', 'skip'] as const, 'fail');
  const rejects = text(opt('--rejects'), input.rejects, 'name a file, e.g. --rejects rejects.ndjson');
  if (rejects !== undefined && onError !== 'skip') conflict(opt('--rejects'), { ...ON_ERROR, flag: '--on-error skip' }, 'only applies with', 'add --on-error skip');
  if (input.namespaceMap !== undefined && !isNamespaceMap(input.namespaceMap)) {
    invalid(NAMESPACE_MAP, input.namespaceMap, 'is not OLD=NEW entries', 'give "old=new" strings, or an object of old: new');
  }
  return {
    source,
    root,
    selection: selection(input),
    namespaceMap: parsed(NAMESPACE_MAP, input.namespaceMap, () => parseNamespaceMap(input.namespaceMap)),
    mode: choice(opt('--mode'), input.mode, ['upsert', 'insert'] as const, 'upsert'),
    concurrency: wholeNumber(opt('--concurrency'), input.concurrency, 1, MAX_PARALLEL, DEFAULT_RESTORE_CONCURRENCY),
    writers: wholeNumber(opt('--writers'), input.writers, 1, MAX_PARALLEL, DEFAULT_WRITERS),
    batchSize: wholeNumber(opt('--batch-size'), input.batchSize, 1, MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_OPS),
    batchBytes: wholeNumber(opt('--batch-bytes'), input.batchBytes, 1, MAX_REQUEST_BYTES, DEFAULT_MAX_BATCH_BYTES),
    onError,
    rejects,
    dryRun: boolean(opt('--dry-run'), input.dryRun, false),
    optionsFile: text(opt('--options', 'optionsFile'), input.optionsFile, 'name a JSON file, e.g. --options _backup/options.json', `${root}/options.json`),
    writeRate: normalizeWriteRate(input),
    shard: restoreShard(input, source),
    transport: transport(input.transport),
  };
}

/** `--shard`: a dump folder only (stdin cannot be cut up between machines). */
function restoreShard(input: RestoreOptionsInput, source: RestoreOptions['source']): ShardSpec | undefined {
  const shard = normalizeShard(input.shard, input.shardCount, input.env);
  if (shard !== undefined && source.type === 'stdin') conflict(opt('--shard'), { flag: '--in -', option: 'in' }, 'cannot be used with', 'restore a dump folder: -n NAME or --in DIR');
  return shard;
}
