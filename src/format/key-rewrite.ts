/**
 * Moving entities to another project, database or namespace: every key that
 * pointed into the dumped database is rewritten the same way, the entity's
 * own key and key values inside properties, arrays and embedded entities, so
 * references still point at the restored entities.
 *
 * A key value pointing at another project or database (a reference out of the
 * dumped database) is left exactly as it was: it names data the dump does not
 * hold, and rewriting it would silently redirect it to something else.
 */
import { DspipeError } from '../errors.js';
import type { IEntity, IKey, IPartitionId, IValue } from '../model/proto.js';
import { DEFAULT_NAMESPACE_TOKEN } from './selection.js';

export interface DatabaseRef {
  projectId: string;
  databaseId: string;
}

export interface KeyRewriteOptions {
  /** Where the entities are written. */
  target: DatabaseRef;
  /**
   * The dumped database (manifest `source`). Without it (NDJSON on stdin) each
   * entity's own key names it.
   */
  source?: DatabaseRef;
  /** Source namespace → target namespace; '' is the default namespace. */
  namespaceMap?: ReadonlyMap<string, string>;
}

/**
 * Parses `--namespace-map old=new` entries (repeatable or comma-separated);
 * `(default)` names the default namespace on either side.
 */
export function parseNamespaceMap(spec: string | readonly string[] | Readonly<Record<string, string>> | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (spec === undefined) return map;
  const ns = (name: string) => (name === DEFAULT_NAMESPACE_TOKEN ? '' : name);
  const add = (from: string, to: string, raw: string) => {
    if (map.has(from) && map.get(from) !== to) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `--namespace-map maps ${JSON.stringify(from || DEFAULT_NAMESPACE_TOKEN)} twice (${raw})`, {
        hint: 'give each source namespace one target',
      });
    }
    map.set(from, to);
  };
  if (typeof spec === 'object' && !Array.isArray(spec)) {
    for (const [from, to] of Object.entries(spec as Record<string, string>)) add(ns(from), ns(to), `${from}=${to}`);
    return map;
  }
  const entries = (typeof spec === 'string' ? [spec] : (spec as readonly string[])).flatMap((s) => s.split(','));
  for (const raw of entries) {
    const entry = raw.trim();
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1 || entry.indexOf('=', eq + 1) !== -1) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `--namespace-map entry ${JSON.stringify(raw)} is not OLD=NEW`, {
        hint: `write e.g. --namespace-map staging=prod, or ${DEFAULT_NAMESPACE_TOKEN}=archive for the default namespace`,
      });
    }
    add(ns(entry.slice(0, eq).trim()), ns(entry.slice(eq + 1).trim()), raw);
  }
  return map;
}

const sameDatabase = (p: IPartitionId | null | undefined, db: DatabaseRef) =>
  (p?.projectId ?? '') === db.projectId && (p?.databaseId ?? '') === db.databaseId;

/**
 * Returns a function that rewrites one entity's keys in place (and returns
 * it), or undefined when nothing would change: then the stage passes entities
 * through untouched, at no cost.
 */
export function createKeyRewrite(options: KeyRewriteOptions): ((entity: IEntity) => IEntity) | undefined {
  const { target, source } = options;
  const map = options.namespaceMap ?? new Map<string, string>();
  if (source !== undefined && map.size === 0 && source.projectId === target.projectId && source.databaseId === target.databaseId) {
    return undefined;
  }
  const rewriteKey = (key: IKey): IKey => {
    const ns = key.partitionId?.namespaceId ?? '';
    const partitionId: IPartitionId = { projectId: target.projectId, databaseId: target.databaseId, namespaceId: map.get(ns) ?? ns };
    return { ...key, partitionId };
  };
  const rewriteValue = (v: IValue, from: DatabaseRef): void => {
    if (v.keyValue) {
      if (sameDatabase(v.keyValue.partitionId, from)) v.keyValue = rewriteKey(v.keyValue);
    } else if (v.entityValue) {
      rewriteEntity(v.entityValue, from, false);
    } else if (v.arrayValue?.values) {
      for (const item of v.arrayValue.values) rewriteValue(item, from);
    }
  };
  const rewriteEntity = (entity: IEntity, from: DatabaseRef, own: boolean): void => {
    // an embedded entity's key is a reference like any other; the entity's own key always moves
    if (entity.key && (own || sameDatabase(entity.key.partitionId, from))) entity.key = rewriteKey(entity.key);
    const props = entity.properties;
    if (props) for (const name in props) rewriteValue(props[name]!, from);
  };
  return (entity: IEntity): IEntity => {
    const from = source ?? {
      projectId: entity.key?.partitionId?.projectId ?? '',
      databaseId: entity.key?.partitionId?.databaseId ?? '',
    };
    rewriteEntity(entity, from, true);
    return entity;
  };
}

