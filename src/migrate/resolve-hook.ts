/**
 * A module resolution hook (node:module register()) for migration scripts:
 * `import { Timestamp } from 'dspipe'` (and 'dspipe/stages', 'dspipe/format')
 * resolves to the dspipe that is running the migration, whether or not the
 * project holding the script has dspipe installed — and never to another
 * copy, whose Timestamp or EntityHelper would not be ours. Imports nothing:
 * it runs on Node's hooks thread.
 */
let targets: Record<string, string> = {};

export function initialize(data: { targets: Record<string, string> }): void {
  targets = data.targets;
}

type Next = (specifier: string, context: unknown) => Promise<unknown>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  const url = targets[specifier];
  if (url !== undefined) return { url, format: 'module', shortCircuit: true };
  const resolved = (await next(specifier, context)) as { url: string; format?: string };
  // A migration script is an ES module (`export const kind`), even in a folder whose
  // package.json says commonjs (or has none): tsx would compile it to CommonJS there,
  // whose require() knows no hooks and would load a second copy of dspipe.
  if (resolved.url.includes(MIGRATION_MARK) && resolved.format !== 'module') return { ...resolved, format: 'module' };
  return resolved;
}

/** The query a migration script is imported with (loader.ts adds it). */
const MIGRATION_MARK = 'dspipe-migration=';
