/**
 * What a transform's return value means, checked strictly: the entity to
 * write (same key), null to delete, undefined to leave alone. Anything else
 * — a throw, another key, a non-entity — stops the migration with
 * DSPIPE_MIGRATION_FAILED naming the script and the entity's key.
 */
import type { IEntity, IEntityResult, IKey } from '../model/proto.js';
import { encodeEntity, encodeKey } from '../format/entity-codec.js';
import { EntityHelper } from '../format/entity-helper.js';
import { DspipeError } from '../errors.js';
import type { TransformFunction } from './loader.js';
import { formatKey } from '../model/key-text.js';

export type Outcome = { type: 'unchanged' } | { type: 'write'; entity: IEntity } | { type: 'delete' };

export interface ScriptRef {
  name: string;
  /** The script file, or a description for built-in transforms. */
  file: string;
  transform: TransformFunction;
}

const FIX_SCRIPT = 'fix the script and run dspipe migrate up again: it resumes from the checkpoint; entities already migrated stay as written';

export function migrationFailed(script: ScriptRef, key: IKey | null | undefined, what: string, cause?: unknown, hint = FIX_SCRIPT): DspipeError {
  const path = key?.path ?? [];
  return new DspipeError('DSPIPE_MIGRATION_FAILED', `migration ${script.name} failed on ${formatKey(key)}: ${what}`, {
    file: script.file,
    key: formatKey(key),
    ...(path.length > 0 && { kind: path[path.length - 1]!.kind ?? '' }),
    ...(key?.partitionId?.namespaceId && { namespace: key.partitionId.namespaceId }),
    ...(cause !== undefined && { cause }),
    hint,
  });
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object without key and properties (${Object.keys(v).slice(0, 4).join(', ') || 'empty'})`;
  return `a ${typeof v} (${String(v).slice(0, 40)})`;
}

/** Interprets a transform's result for the entity it was given. */
export function interpretResult(
  result: unknown,
  original: IEntity,
  script: ScriptRef,
  before = encodeEntity(original),
  keyBefore = JSON.stringify(encodeKey(original.key!)),
): Outcome {
  if (result === undefined) return { type: 'unchanged' };
  if (result === null) return { type: 'delete' };
  let entity: IEntity;
  if (result instanceof EntityHelper) entity = result.toEntity();
  else if (typeof result === 'object' && !Array.isArray(result) && typeof (result as IEntity).properties === 'object' && (result as IEntity).properties !== null && 'key' in result) {
    entity = result as IEntity;
  } else {
    throw migrationFailed(script, original.key, `transform returned ${describeValue(result)}, not an entity (return the entity, null to delete it, or undefined to leave it)`);
  }
  if (!entity.key || JSON.stringify(encodeKey(entity.key)) !== keyBefore) {
    throw migrationFailed(script, original.key, `transform returned an entity with a different key (${formatKey(entity.key)}); a migration rewrites entities in place and cannot move them`);
  }
  let after: string;
  try {
    after = encodeEntity(entity);
  } catch (err) {
    throw migrationFailed(script, original.key, `transform returned an invalid entity: ${(err as Error).message}`, err);
  }
  return before === after ? { type: 'unchanged' } : { type: 'write', entity };
}

/** Runs the transform on one read result and interprets what it returned. */
export async function applyScript(script: ScriptRef, result: IEntityResult, namespace: string, kind: string): Promise<Outcome> {
  const original = result.entity!;
  // Encoded before the script runs: a script may mutate the raw values it was given.
  const before = encodeEntity(original);
  const keyBefore = JSON.stringify(encodeKey(original.key!));
  let returned: unknown;
  try {
    returned = await script.transform(new EntityHelper(original), { namespace, kind, version: String(result.version ?? '') });
  } catch (err) {
    if (err instanceof DspipeError && err.code === 'DSPIPE_MIGRATION_FAILED') throw err;
    throw migrationFailed(script, original.key, `transform threw: ${(err as Error)?.message ?? String(err)}`, err);
  }
  return interpretResult(returned, original, script, before, keyBefore);
}
