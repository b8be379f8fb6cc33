/**
 * Loading a migration script: TypeScript through tsx's loader API (no build
 * step for users), JavaScript through import(). A script exports
 *
 *   export const kind = 'User';            // or: export const kinds = ['User', 'Admin'];
 *   export const description = '…';         // shown by `migrate status`
 *   export const namespaces = 'tenant-*';   // optional, --namespaces syntax; default all
 *   export function transform(entity, context) { … }   // may be async
 *
 * (or the same as properties of `export default`). `transform` receives an
 * EntityHelper and returns the entity to write (same key), null to delete it,
 * or undefined to leave it.
 */
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { DspipeError } from '../errors.js';
import type { EntityHelper } from '../format/entity-helper.js';

export interface TransformContext {
  namespace: string;
  kind: string;
  /** The version the entity was read at. */
  version: string;
}

export type TransformFunction = (entity: EntityHelper, context: TransformContext) => unknown;

export interface Migration {
  name: string;
  file: string;
  kinds: string[];
  description: string;
  /** --namespaces syntax; undefined for every namespace. */
  namespaces: string | string[] | undefined;
  transform: TransformFunction;
}

function bad(file: string, what: string): never {
  throw new DspipeError('DSPIPE_MIGRATION_FAILED', `migration script ${what}`, {
    file,
    hint: "export kind (or kinds), description and transform(entity), e.g. export const kind = 'User'",
  });
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((k) => typeof k === 'string' && k !== '');

/** Checks a loaded module's exports; pure, for testing. */
export function readMigrationModule(mod: Record<string, unknown>, name: string, file: string): Migration {
  const def = mod.default;
  const src: Record<string, unknown> =
    typeof mod.transform !== 'function' && typeof def === 'object' && def !== null ? (def as Record<string, unknown>) : mod;
  if (typeof src.transform !== 'function') bad(file, 'exports no transform function');
  let kinds: string[];
  if (typeof src.kind === 'string' && src.kind !== '') kinds = [src.kind];
  else if (isStringList(src.kinds)) kinds = [...src.kinds];
  else return bad(file, 'exports no kind (a string) or kinds (a non-empty list of strings)');
  const reserved = kinds.find((k) => /^__.*__$/.test(k));
  if (reserved !== undefined) bad(file, `names the reserved kind ${JSON.stringify(reserved)}`);
  if (src.description !== undefined && typeof src.description !== 'string') bad(file, 'exports a description that is not a string');
  const ns = src.namespaces;
  if (ns !== undefined && typeof ns !== 'string' && !isStringList(ns)) bad(file, 'exports namespaces that are neither a string nor a list of strings');
  return {
    name,
    file,
    kinds,
    description: (src.description as string | undefined) ?? '',
    namespaces: ns as string | string[] | undefined,
    transform: src.transform as TransformFunction,
  };
}

/**
 * Imports the script. `version` (its checksum) goes into the URL so a script
 * edited while this process runs is loaded afresh, not from the module cache.
 */
export async function loadMigration(name: string, file: string, version?: string): Promise<Migration> {
  // The mark makes resolve-hook.ts load it as an ES module; the version loads an edited script afresh.
  const url = `${pathToFileURL(file).href}?dspipe-migration=${version ?? 'x'}`;
  let mod: Record<string, unknown>;
  try {
    await hooksOnce();
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    // moduleRegister's refusal (Node < 20.6) already says what to do; anything else is the script's.
    if (err instanceof DspipeError) throw err;
    throw new DspipeError('DSPIPE_MIGRATION_FAILED', `migration script could not be loaded: ${(err as Error)?.message ?? String(err)}`, {
      file,
      cause: err,
      hint: 'fix the script so it imports cleanly (node --check, or tsc, will show the error)',
    });
  }
  return readMigrationModule(mod, name, file);
}

/** The entry points a migration's `import … from 'dspipe'` gets: this dspipe's. */
export const DSPIPE_ENTRIES: Readonly<Record<string, string>> = {
  dspipe: new URL('../index.js', import.meta.url).href,
  'dspipe/stages': new URL('../stages.js', import.meta.url).href,
  'dspipe/format': new URL('../format.js', import.meta.url).href,
};

let hooks: Promise<void> | undefined;

type Register = (specifier: URL, options: { data: unknown }) => void;

/**
 * node:module's register(), which both loader hooks need. It arrived in Node
 * 20.6: `engines` says >=20, and a named import of it would make this file
 * (and so every command) fail to load on 20.0–20.5, so it is looked up here
 * and only a migration run is refused, in one line naming the fix.
 */
export function moduleRegister(mod: object): Register {
  const register = (mod as { register?: unknown }).register;
  if (typeof register === 'function') return register as Register;
  throw new DspipeError('DSPIPE_MIGRATION_FAILED', `migrations need Node 20.6 or later (node:module register() loads them); this is Node ${process.version}`, {
    hint: 'upgrade Node to 20.6 or later (22 LTS recommended); every other dspipe command works on this one',
  });
}

/**
 * tsx's loader (TypeScript runs as is), then resolve-hook.ts (registered last, so it
 * runs first), once per process, before the first script loads.
 */
function hooksOnce(): Promise<void> {
  return (hooks ??= (async () => {
    const register = moduleRegister(nodeModule);
    const { register: registerTsx } = await import('tsx/esm/api');
    registerTsx();
    register(new URL('./resolve-hook.js', import.meta.url), { data: { targets: DSPIPE_ENTRIES } });
  })());
}
