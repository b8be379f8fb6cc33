/**
 * The option normaliser of `dspipe indexes` (diff, create, wait, prune),
 * shared by the CLI and the library, and prune's confirmation (the same
 * two-step check as clear's).
 */
import { DspipeError } from '../errors.js';
import { boolean, numberInRange, opt, text } from './validate.js';

export interface IndexesOptionsInput {
  /** The index.yaml to compare with. */
  file?: string;
  /** create: then wait until every index of the file is READY. */
  wait?: boolean;
  /** Seconds to wait for READY before failing (default 1800). */
  timeout?: number | string;
  /** Milliseconds between looks at the indexes while waiting (default: 5000, or 200 against an emulator). */
  pollMs?: number | string;
  /** prune: confirms the deletion. Against a real project `confirmProject` must name it too. */
  yes?: boolean;
  /** The project named on the command line (`--project`), checked against the one resolved. */
  confirmProject?: string;
}

export interface IndexesOptions {
  file: string;
  wait: boolean;
  timeoutMs: number;
  pollMs: number | undefined;
  yes: boolean;
  confirmProject: string | undefined;
}

export const DEFAULT_INDEX_TIMEOUT_S = 1800;
export const DEFAULT_POLL_MS = 5000;
export const EMULATOR_POLL_MS = 200;

export function normalizeIndexesOptions(input: IndexesOptionsInput): IndexesOptions {
  const file = text(opt('FILE', 'file'), input.file, 'name the index file, e.g. dspipe indexes diff index.yaml');
  if (file === undefined) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', 'no index file given', { hint: 'name it: dspipe indexes diff index.yaml' });
  }
  const pollMs = input.pollMs === undefined ? undefined : numberInRange(opt('--poll-ms'), input.pollMs, 10, 600_000, DEFAULT_POLL_MS);
  return {
    file,
    wait: boolean(opt('--wait'), input.wait, false),
    timeoutMs: numberInRange(opt('--timeout'), input.timeout, 0, 7 * 24 * 3600, DEFAULT_INDEX_TIMEOUT_S) * 1000,
    pollMs,
    yes: boolean(opt('--yes'), input.yes, false),
    confirmProject: text(opt('--project', 'confirmProject'), input.confirmProject, 'name the project, e.g. --project my-app'),
  };
}

/**
 * prune deletes indexes, so it asks twice against production: `--yes`, and
 * the project named with `--project`. Against an emulator `--yes` is enough.
 */
export function checkPruneConfirmation(options: IndexesOptions, target: { projectId: string; emulatorHost?: string }): void {
  const where = `project ${JSON.stringify(target.projectId)}`;
  const what = `prune deletes every composite index of ${where} that ${options.file} does not list`;
  if (!options.yes) {
    throw new DspipeError('DSPIPE_CONFIRMATION_REQUIRED', `${what}; not confirmed`, {
      hint: target.emulatorHost !== undefined ? 'add --yes to confirm' : `add --yes --project ${target.projectId} to confirm`,
    });
  }
  if (target.emulatorHost === undefined && options.confirmProject !== target.projectId) {
    throw new DspipeError(
      'DSPIPE_CONFIRMATION_REQUIRED',
      options.confirmProject === undefined
        ? `prune against a real project needs it named explicitly (${where})`
        : `--project ${JSON.stringify(options.confirmProject)} does not match the target ${where}`,
      { hint: `add --project ${target.projectId} to confirm which project you mean` },
    );
  }
}
