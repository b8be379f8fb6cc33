/**
 * The option normaliser of `clear`, shared by the CLI and the library, and
 * the confirmation it asks for before deleting anything.
 */
import { DspipeError } from '../errors.js';
import type { Selection } from '../format/selection.js';
import { DEFAULT_MAX_BATCH_OPS } from '../format/batching.js';
import { boolean, opt, selection, text, wholeNumber } from './validate.js';
import { DEFAULT_WRITERS, MAX_BATCH_SIZE, MAX_PARALLEL } from './restore.js';
import { normalizeWriteRate, type WriteRateInput, type WriteRateSetting } from './write-rate.js';

export const DEFAULT_CLEAR_CONCURRENCY = 4;

export interface ClearOptionsInput extends WriteRateInput {
  kinds?: string | readonly string[];
  namespaces?: string | readonly string[];
  /** Confirms the deletion. Against a real project `confirmProject` must name it too. */
  yes?: boolean;
  /** The project the user named on the command line (`--project`), checked against the one resolved. */
  confirmProject?: string;
  concurrency?: number | string;
  writers?: number | string;
  batchSize?: number | string;
}

export interface ClearOptions {
  selection: Selection;
  yes: boolean;
  confirmProject: string | undefined;
  concurrency: number;
  writers: number;
  batchSize: number;
  writeRate: WriteRateSetting;
}

export function normalizeClearOptions(input: ClearOptionsInput): ClearOptions {
  return {
    selection: selection(input),
    yes: boolean(opt('--yes'), input.yes, false),
    confirmProject: text(opt('--project', 'confirmProject'), input.confirmProject, 'name the project to clear, e.g. --project my-app'),
    concurrency: wholeNumber(opt('--concurrency'), input.concurrency, 1, MAX_PARALLEL, DEFAULT_CLEAR_CONCURRENCY),
    writers: wholeNumber(opt('--writers'), input.writers, 1, MAX_PARALLEL, DEFAULT_WRITERS),
    batchSize: wholeNumber(opt('--batch-size'), input.batchSize, 1, MAX_BATCH_SIZE, DEFAULT_MAX_BATCH_OPS),
    writeRate: normalizeWriteRate(input),
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
