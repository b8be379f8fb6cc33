/**
 * Which migrations are applied, pending, interrupted or changed: script files
 * matched with DspipeMigration records. Pure, so `status` and `up` agree and
 * the rules are tested without a database.
 */
import { DspipeError } from '../errors.js';
import type { MigrationFile } from './discovery.js';
import type { MigrationRecord } from './record.js';

export type MigrationState =
  | 'applied'
  | 'pending'
  /** Started and stopped (killed or failed): `up` resumes from its checkpoint. */
  | 'interrupted'
  /** Applied, but the script changed since. */
  | 'changed'
  /** Recorded as applied, but the script is gone from the folder. */
  | 'missing';

export interface PlannedMigration {
  name: string;
  state: MigrationState;
  file?: MigrationFile;
  record?: MigrationRecord;
}

export function planMigrations(files: readonly MigrationFile[], records: ReadonlyMap<string, MigrationRecord>): PlannedMigration[] {
  const out: PlannedMigration[] = [];
  const names = new Set<string>();
  for (const file of files) {
    names.add(file.name);
    const record = records.get(file.name);
    let state: MigrationState;
    if (record === undefined) state = 'pending';
    else if (record.status === 'applied') state = record.checksum === file.checksum ? 'applied' : 'changed';
    else state = 'interrupted';
    out.push(record === undefined ? { name: file.name, state, file } : { name: file.name, state, file, record });
  }
  for (const [name, record] of records) if (!names.has(name)) out.push({ name, state: record.status === 'applied' ? 'missing' : 'interrupted', record });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface UpSelection {
  /** Migrations `up` will run, in order (pending or interrupted). */
  run: PlannedMigration[];
  /** Applied migrations whose script changed, tolerated with allowChanged. */
  changed: PlannedMigration[];
}

/**
 * What `up` runs. Refuses (DSPIPE_MIGRATION_CHANGED) when an applied script
 * changed, unless allowChanged; refuses an unknown `to`. An interrupted
 * migration may have changed: fixing the script that stopped it is the
 * normal way on, and it resumes from its checkpoint.
 */
export function selectForUp(plan: readonly PlannedMigration[], options: { to?: string | undefined; allowChanged: boolean; dir: string }): UpSelection {
  const withFiles = plan.filter((p) => p.file !== undefined);
  let last = withFiles.length;
  if (options.to !== undefined) {
    last = withFiles.findIndex((p) => p.name === options.to) + 1;
    if (last === 0) {
      throw new DspipeError('DSPIPE_NOT_FOUND', `no migration named ${JSON.stringify(options.to)} in ${options.dir}`, {
        file: options.dir,
        hint: `dspipe migrate status lists them: ${withFiles.map((p) => p.name).join(', ') || '(none)'}`,
      });
    }
  }
  const considered = withFiles.slice(0, last);
  const changed = considered.filter((p) => p.state === 'changed');
  if (changed.length > 0 && !options.allowChanged) {
    const first = changed[0]!;
    throw new DspipeError(
      'DSPIPE_MIGRATION_CHANGED',
      `migration ${first.name} changed after it was applied (recorded checksum ${first.record!.checksum.slice(0, 12)}…, file now ${first.file!.checksum.slice(0, 12)}…)`,
      {
        file: first.file!.file,
        hint: 'restore the script as it was and add a new migration for the new change, or pass --allow-changed if the edit is harmless',
      },
    );
  }
  return { run: considered.filter((p) => p.state === 'pending' || p.state === 'interrupted'), changed };
}
