/**
 * The option normaliser of `convert`: a managed export becomes a dspipe dump
 * folder, a dspipe dump folder becomes a managed export. The direction comes
 * from what `from` is, found when the command opens it.
 */
import { DEFAULT_ROOT, boolean, choice, conflict, folderName, folderPath, missing, opt, wholeNumber } from './validate.js';
import { MAX_PARALLEL } from './restore.js';
import type { FileCompression } from '../format/file-names.js';

export interface ConvertOptionsInput {
  /** A managed export (its folder or `.overall_export_metadata`) or a dspipe dump folder. */
  from?: string;
  /** Name of the result under `root`. */
  name?: string;
  /** Folder holding dumps (default `_backup`). */
  root?: string;
  /** The result's path, instead of `root/name`. */
  out?: string;
  /** Refuse entities the export format cannot keep exactly (dump → export). */
  strict?: boolean;
  /** Kinds converted at once (dump → export). */
  concurrency?: number | string;
  /** Compression of the dump's kind files (export → dump; default zstd). */
  compress?: 'zstd' | 'none';
}

export interface ConvertOptions {
  from: string;
  /** The folder to write; must not exist yet. */
  dir: string;
  strict: boolean;
  concurrency: number;
  compression: FileCompression;
}

const FROM = opt('PATH', 'from');
const NAME = opt('--name');
const OUT = opt('--out');

export function normalizeConvertOptions(input: ConvertOptionsInput): ConvertOptions {
  if (input.from === undefined) missing([FROM], 'e.g. dspipe convert ./2026-12-01T20:08:43_215 -n from-export');
  const from = folderPath(FROM, input.from);
  if (input.name !== undefined && input.out !== undefined) conflict(NAME, OUT, 'cannot be combined with', 'use -n NAME for <root>/NAME, or --out DIR for any folder');
  let dir: string;
  if (input.out !== undefined) dir = folderPath(OUT, input.out);
  else if (input.name !== undefined) dir = `${folderPath(opt('--root'), input.root, DEFAULT_ROOT)}/${folderName(NAME, input.name, 'use --out DIR to write anywhere')}`;
  else return missing([NAME, OUT], 'e.g. dspipe convert ./2026-12-01T20:08:43_215 -n from-export, or --out ./for-gcloud');
  return {
    from,
    dir,
    strict: boolean(opt('--strict'), input.strict, false),
    concurrency: wholeNumber(opt('--concurrency'), input.concurrency, 1, MAX_PARALLEL, 4),
    compression: choice(opt('--compress'), input.compress, ['zstd', 'none'] as const, 'zstd'),
  };
}
