/**
 * `dspipe migrate new NAME`: a typed migration script to start from, numbered
 * after the last one in the folder (0001-NAME.ts, 0002-…), written without
 * replacing anything. Its `import … from 'dspipe'` resolves to the running
 * dspipe (resolve-hook.ts), so it needs no install in the project.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DspipeError } from '../errors.js';

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/i;

export function migrationTemplate(name: string): string {
  return `/**
 * ${name}: what this migration changes, and why.
 *
 * \`dspipe migrate up --dry-run\` shows what it would change; \`--typecheck\` runs tsc on it first.
 */
import type { EntityHelper, TransformContext } from 'dspipe';

export const kind = 'User'; // or: export const kinds = ['User', 'Admin']
export const description = '${name.replace(/'/g, "\\'")}';
// export const namespaces = 'tenant-*';   // optional, --namespaces syntax

export function transform(entity: EntityHelper, context: TransformContext): EntityHelper | null | undefined {
  void context; // context.namespace, context.kind, context.version
  const value = entity.get('birthday'); // strings, bigint integers, number doubles, Timestamp (a Date), Buffer, …
  if (!(value instanceof Date)) return undefined; // undefined: leave the entity as it is
  entity.set('birthday', value.toISOString().slice(0, 10)); // keeps the property's excludeFromIndexes
  return entity; // the entity to write (same key); null deletes it
}
`;
}

/** Writes `<dir>/NNNN-<name>.ts`; resolves with its path. */
export async function createMigration(dir: string, name: string): Promise<string> {
  if (!NAME_RE.test(name)) {
    throw new DspipeError('DSPIPE_INVALID_OPTION', `NAME ${JSON.stringify(name)} is not a file-name-safe migration name`, { hint: 'letters, digits, ".", "_" and "-", e.g. dspipe migrate new birthday-to-string' });
  }
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  const numbers = existing.map((f) => /^(\d+)-/.exec(f)?.[1]).filter((n): n is string => n !== undefined);
  const width = Math.max(4, ...numbers.map((n) => n.length));
  const next = String(Math.max(0, ...numbers.map(Number)) + 1).padStart(width, '0');
  const file = join(dir, `${next}-${name}.ts`);
  await writeFile(file, migrationTemplate(name), { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new DspipeError('DSPIPE_IO', `cannot write the migration: ${err.message}`, { file, cause: err, hint: 'pick another NAME, or check that --dir is writable' });
  });
  return file;
}
