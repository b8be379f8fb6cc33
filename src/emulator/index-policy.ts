/**
 * What the emulator does with the indexes a query needs:
 *
 * - with `require` (dspipe emulator --require-indexes index.yaml) a query that
 *   only a composite index can serve fails, as in production, unless a READY
 *   index (from the file or created through the Admin API) serves it:
 *   FAILED_PRECONDITION "no matching index found. recommended index is:" and
 *   the index.yaml snippet (the shape production answers with);
 * - every composite index a query needed is reported to `record`
 *   (--write-indexes FILE, what the old dev server's index.yaml
 *   auto-generation did);
 * - query explain names the indexes a query uses (plan summary).
 *
 * Without `require` nothing is refused: like Google's emulators, every index
 * is taken to exist.
 */
import type { IFilter } from '../model/proto.js';
import { formatIndexSnippet, type IndexDefinition, type IndexProperty } from '../format/index-yaml.js';
import type { IndexRegistry } from './indexes.js';
import { indexNeeds, servingIndexes, NO_MATCHING_INDEX, type IndexNeed } from './query/index-need.js';
import type { Plan } from './query/plan.js';
import { RpcError, Status } from './rpc-error.js';

export interface IndexPolicyOptions {
  require: boolean;
  record?: (index: IndexDefinition) => void;
}

/** One entry of explain's plan summary (`indexes_used`), as production spells it. */
export interface IndexUsed {
  query_scope: string;
  properties: string;
}

export class IndexPolicy {
  constructor(
    private readonly registry: IndexRegistry,
    private readonly options: IndexPolicyOptions,
  ) {}

  /** Refuses (when required) or records the query's needs; returns the indexes it uses. */
  check(projectId: string, plan: Plan, filter: IFilter | null | undefined): IndexUsed[] {
    const needs = indexNeeds(plan, filter);
    const ready = needs.some((n) => !n.builtin) ? this.registry.ready(projectId) : [];
    const used: IndexUsed[] = [];
    for (const need of needs) {
      if (!need.builtin) this.options.record?.(need.recommended);
      const serving = servingIndexes(need, ready);
      if (serving === null && this.options.require) {
        throw new RpcError(Status.FAILED_PRECONDITION, `${NO_MATCHING_INDEX} recommended index is:\n${formatIndexSnippet(need.recommended)}`);
      }
      used.push(...describeUse(need, serving));
    }
    if (needs.length === 0) used.push({ query_scope: plan.source.type === 'entities' ? 'Collection Group' : 'Collection', properties: '(__name__ ASC)' });
    return used;
  }
}

function field(p: IndexProperty): string {
  const name = p.name === '__key__' ? '__name__' : p.name;
  return `${name} ${p.direction === 'desc' ? 'DESC' : 'ASC'}`;
}

/** Index fields as explain prints them: `(age ASC, __name__ ASC)`. */
function fields(properties: readonly IndexProperty[]): string {
  const list = properties.map(field);
  if (properties[properties.length - 1]?.name !== '__key__') list.push('__name__ ASC');
  return `(${list.join(', ')})`;
}

function describeUse(need: IndexNeed, serving: IndexDefinition[] | null): IndexUsed[] {
  const query_scope = need.ancestor ? 'Includes Ancestors' : 'Collection';
  // Not served and not required: the emulator answers as if the recommended index existed.
  if (serving === null) return [{ query_scope, properties: fields(need.recommended.properties) }];
  if (serving.length > 0) return serving.map((i) => ({ query_scope, properties: fields(i.properties) }));
  // Built-in indexes: one per equality property (merged), or the sort property's, or the key's.
  if (need.equalities.length > 0) return need.equalities.map((name) => ({ query_scope, properties: fields([{ name, direction: 'asc' }]) }));
  if (need.postfix.length > 0) return [{ query_scope, properties: fields(need.postfix) }];
  return [{ query_scope, properties: '(__name__ ASC)' }];
}
