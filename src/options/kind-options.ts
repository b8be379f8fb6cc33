/**
 * Per-kind tuning from `_backup/options.json` (the Kay-style escape hatch for
 * troublesome kinds):
 *
 *   { "dump":    { "ChatMessage": { "splits": 1 } },
 *     "restore": { "BbsImage": { "batchSize": 1, "writers": 1 } } }
 *
 * Unknown keys are refused with the file and the offending path named, so a
 * typo never silently does nothing.
 */
import { readFile } from 'node:fs/promises';
import { DspipeError } from '../errors.js';
import { invalid, wholeNumber } from './validate.js';
import { MAX_PAGE_SIZE, MAX_SPLITS } from './dump.js';
import { MAX_BATCH_SIZE, MAX_PARALLEL } from './restore.js';

export interface DumpKindOptions {
  /** Key ranges read in parallel for this kind (1 = one sequential reader). */
  splits?: number;
  /** Entities per RunQuery page. */
  pageSize?: number;
}

export interface RestoreKindOptions {
  /** At most this many entities per commit (batches are still capped by bytes). */
  batchSize?: number;
  /** Concurrent commits for this kind. */
  writers?: number;
}

export interface KindOptionsFile {
  dump: Record<string, DumpKindOptions>;
  restore: Record<string, RestoreKindOptions>;
}

/** Each section's options and the largest value of each: the same ranges as the flags they override. */
const MAX: Record<keyof KindOptionsFile, Record<string, number>> = {
  dump: { splits: MAX_SPLITS, pageSize: MAX_PAGE_SIZE },
  restore: { batchSize: MAX_BATCH_SIZE, writers: MAX_PARALLEL },
};
const HINT = 'the file looks like {"dump": {"Kind": {"splits": 1, "pageSize": 100}}, "restore": {"Kind": {"batchSize": 1, "writers": 1}}}';

export const EMPTY_KIND_OPTIONS: KindOptionsFile = { dump: {}, restore: {} };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseKindOptions(text: string, file: string): KindOptionsFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `not valid JSON: ${(cause as Error).message}`, { file, cause });
  }
  const fail = (path: string, what: string): never => {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `${path}: ${what}`, { file, hint: HINT });
  };
  if (!isRecord(data)) return fail('(top level)', 'expected an object');
  const result: KindOptionsFile = { dump: {}, restore: {} };
  for (const [section, kinds] of Object.entries(data)) {
    if (section.startsWith('$') || section === 'comment') continue; // room for "$comment"
    if (section !== 'dump' && section !== 'restore') fail(section, 'unknown section (expected "dump" or "restore")');
    if (!isRecord(kinds)) return fail(section, 'expected an object of kind names');
    const max = MAX[section as keyof KindOptionsFile];
    for (const [kind, opts] of Object.entries(kinds)) {
      if (!isRecord(opts)) return fail(`${section}.${kind}`, 'expected an object of options');
      for (const [name, value] of Object.entries(opts)) {
        const entry = { option: `${section}.${kind}.${name}`, file };
        if (!Object.hasOwn(max, name)) fail(entry.option, `unknown option (allowed: ${Object.keys(max).join(', ')})`);
        // JSON has numbers: "2" is a mistake here, though the CLI's "2" is not.
        if (typeof value !== 'number') invalid(entry, value, 'is not a number', HINT);
        wholeNumber(entry, value, 1, max[name]!);
      }
      (result[section as keyof KindOptionsFile] as Record<string, unknown>)[kind] = { ...opts };
    }
  }
  return result;
}

/** Reads the options file; a missing file means no overrides. */
export async function loadKindOptions(file: string): Promise<KindOptionsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { dump: {}, restore: {} };
    throw new DspipeError('DSPIPE_IO', `cannot read options: ${(err as Error).message}`, { file, cause: err });
  }
  return parseKindOptions(text, file);
}
