/**
 * The emulator's composite indexes and the Datastore Admin API over them
 * (google.datastore.admin.v1: CreateIndex, DeleteIndex, GetIndex,
 * ListIndexes, with google.longrunning operations), independent of gRPC.
 *
 * As documented in datastore_admin.proto: a new index starts CREATING and is
 * READY when its operation completes; creating one that exists is
 * ALREADY_EXISTS; single-property indexes cannot be created; only READY or
 * ERROR indexes can be deleted, and they are DELETING until removed. Builds
 * take `buildMs` (the CLI's --index-build-ms). A build fails — the index goes
 * to ERROR — where production's would: an entity that would need more than
 * 20,000 entries in the index (Datastore's limit on composite index entries
 * per entity: an "exploding" index over several array properties).
 *
 * Indexes are kept per project (the v1 Admin API names no database).
 * Indexes from the index.yaml given at start are READY in every project.
 * State changes happen lazily, when anything looks at the indexes, so no
 * timer outlives the emulator.
 */
import { describeIndex, type IndexDefinition } from '../format/index-yaml.js';
import type { Store } from './store.js';
import { formatKey } from '../model/key-text.js';
import { indexedValues } from './query/values.js';
import { RpcError, Status, invalidArgument } from './rpc-error.js';

export type IndexState = 'CREATING' | 'READY' | 'DELETING' | 'ERROR';

/** Datastore's limit on the composite index entries one entity may have in one index. */
export const MAX_COMPOSITE_ENTRIES_PER_ENTITY = 20_000;
export const DEFAULT_INDEX_BUILD_MS = 300;

export interface ManagedIndex {
  projectId: string;
  indexId: string;
  definition: IndexDefinition;
  state: IndexState;
  /** When the running operation completes (ms since epoch). */
  dueAt?: number;
  operation?: string;
}

export interface OperationRecord {
  name: string;
  type: 'CREATE_INDEX' | 'DELETE_INDEX';
  projectId: string;
  indexId: string;
  startTime: number;
  endTime?: number;
  done: boolean;
  /** The index as it was when the operation ended (the LRO's response). */
  result?: ManagedIndex;
  error?: { code: number; message: string };
}

/** An Admin API index as proto-loader objects spell it. */
export interface AdminIndex {
  projectId: string;
  indexId: string;
  kind: string;
  ancestor: 'NONE' | 'ALL_ANCESTORS';
  properties: { name: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  state: IndexState;
}

export function toAdminIndex(i: ManagedIndex): AdminIndex {
  return {
    projectId: i.projectId,
    indexId: i.indexId,
    kind: i.definition.kind,
    ancestor: i.definition.ancestor ? 'ALL_ANCESTORS' : 'NONE',
    properties: i.definition.properties.map((p) => ({ name: p.name, direction: p.direction === 'desc' ? 'DESCENDING' : 'ASCENDING' })),
    state: i.state,
  };
}

function enumName(v: unknown, names: Record<number, string>): string {
  return typeof v === 'number' ? (names[v] ?? String(v)) : String(v ?? '');
}

/** Reads the `index` of a CreateIndexRequest, refusing what Datastore refuses. */
export function definitionFromRequest(index: Record<string, unknown> | null | undefined): IndexDefinition {
  if (!index) throw invalidArgument('CreateIndex needs an index.');
  const kind = String(index.kind ?? '');
  if (kind === '') throw invalidArgument('The index kind is required.');
  const ancestorName = enumName(index.ancestor, { 0: 'ANCESTOR_MODE_UNSPECIFIED', 1: 'NONE', 2: 'ALL_ANCESTORS' });
  if (ancestorName !== 'NONE' && ancestorName !== 'ALL_ANCESTORS') throw invalidArgument('The index ancestor mode must be NONE or ALL_ANCESTORS.');
  const raw = (index.properties ?? []) as { name?: string; direction?: unknown }[];
  if (raw.length > 100) throw invalidArgument('An index can have at most 100 properties.');
  const properties = raw.map((p, i) => {
    const name = String(p.name ?? '');
    if (name === '') throw invalidArgument(`Index property ${i} needs a name.`);
    const dir = enumName(p.direction, { 0: 'DIRECTION_UNSPECIFIED', 1: 'ASCENDING', 2: 'DESCENDING' });
    if (dir !== 'ASCENDING' && dir !== 'DESCENDING') throw invalidArgument(`Index property ${name} needs a direction (ASCENDING or DESCENDING).`);
    return { name, direction: dir === 'DESCENDING' ? ('desc' as const) : ('asc' as const) };
  });
  const ancestor = ancestorName === 'ALL_ANCESTORS';
  const names = new Set(properties.map((p) => p.name));
  if (names.size !== properties.length) throw invalidArgument('An index cannot name a property twice.');
  // "Indexes with a single property cannot be created" — they are built in. Datastore's
  // documentation does require a composite index for a descending key order, so `__key__ desc`
  // alone is allowed, as is any index with ancestors.
  const keyDescOnly = properties.length === 1 && properties[0]!.name === '__key__' && properties[0]!.direction === 'desc';
  if (!ancestor && properties.length < 2 && !keyDescOnly) {
    throw invalidArgument('Indexes with a single property cannot be created: Datastore builds them in for every property.');
  }
  return { kind, ancestor, properties };
}

function sameDefinition(a: IndexDefinition, b: IndexDefinition): boolean {
  return (
    a.kind === b.kind &&
    a.ancestor === b.ancestor &&
    a.properties.length === b.properties.length &&
    a.properties.every((p, i) => p.name === b.properties[i]!.name && p.direction === b.properties[i]!.direction)
  );
}

export interface IndexRegistryOptions {
  buildMs?: number;
  /** Indexes READY from the start in every project (the index.yaml of --require-indexes). */
  initial?: readonly IndexDefinition[];
}

export class IndexRegistry {
  readonly buildMs: number;
  private readonly initial: readonly IndexDefinition[];
  private readonly projects = new Map<string, Map<string, ManagedIndex>>();
  private readonly operations = new Map<string, OperationRecord>();
  private seq = 0;

  constructor(
    private readonly store: () => Store,
    options: IndexRegistryOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.buildMs = options.buildMs ?? DEFAULT_INDEX_BUILD_MS;
    this.initial = options.initial ?? [];
  }

  private nextId(): string {
    // Opaque, like production's ids ("CICAgJiUpoMK").
    this.seq++;
    return `CICAg${this.seq.toString(36).toUpperCase().padStart(6, 'A')}`;
  }

  /** Back to the start (POST /reset): only the initial indexes, in every project; no operations. */
  reset(): void {
    this.projects.clear();
    this.operations.clear();
  }

  private project(projectId: string): Map<string, ManagedIndex> {
    let p = this.projects.get(projectId);
    if (p === undefined) {
      p = new Map();
      this.projects.set(projectId, p);
      for (const definition of this.initial) {
        const indexId = this.nextId();
        p.set(indexId, { projectId, indexId, definition, state: 'READY' });
      }
    }
    this.settle(projectId, p);
    return p;
  }

  /** Completes the operations whose time has come. */
  private settle(projectId: string, indexes: Map<string, ManagedIndex>): void {
    const now = this.now();
    for (const index of [...indexes.values()]) {
      if (index.dueAt === undefined || index.dueAt > now) continue;
      const op = this.operations.get(index.operation!)!;
      delete index.dueAt;
      delete index.operation;
      if (index.state === 'CREATING') {
        const problem = this.buildProblem(projectId, index.definition);
        if (problem === undefined) index.state = 'READY';
        else {
          index.state = 'ERROR';
          op.error = { code: Status.FAILED_PRECONDITION, message: problem };
        }
      } else if (index.state === 'DELETING') {
        indexes.delete(index.indexId);
      }
      op.done = true;
      op.endTime = now;
      op.result = { ...index };
    }
  }

  /** Why building the index would fail on the data stored now, or undefined. */
  private buildProblem(projectId: string, def: IndexDefinition): string | undefined {
    const store = this.store();
    const db = store.database(projectId, '');
    const snapshot = store.snapshot(db, Number.MAX_SAFE_INTEGER);
    for (const ns of snapshot.namespaces()) {
      for (const e of snapshot.scan(ns, def.kind)) {
        let entries = 1;
        for (const p of def.properties) {
          if (p.name === '__key__') continue;
          const distinct = new Set(indexedValues(e.properties, p.name).map((v) => JSON.stringify(v)));
          entries *= distinct.size;
        }
        if (def.ancestor) entries *= e.key.path!.length;
        if (entries > MAX_COMPOSITE_ENTRIES_PER_ENTITY) {
          return (
            `Creating index ${describeIndex(def)} failed: entity ${formatKey(e.key)} would have ` +
            `${entries} entries in it, more than the ${MAX_COMPOSITE_ENTRIES_PER_ENTITY} allowed (an exploding index over array properties).`
          );
        }
      }
    }
    return undefined;
  }

  list(projectId: string): ManagedIndex[] {
    return [...this.project(projectId).values()].map((i) => ({ ...i }));
  }

  get(projectId: string, indexId: string): ManagedIndex {
    const i = this.project(projectId).get(indexId);
    if (i === undefined) throw new RpcError(Status.NOT_FOUND, `The index ${indexId} does not exist in project ${projectId}.`);
    return { ...i };
  }

  /** READY definitions of the project (what queries may use). */
  ready(projectId: string): IndexDefinition[] {
    return [...this.project(projectId).values()].filter((i) => i.state === 'READY').map((i) => i.definition);
  }

  create(projectId: string, definition: IndexDefinition): OperationRecord {
    const indexes = this.project(projectId);
    for (const i of indexes.values()) {
      if (sameDefinition(i.definition, definition)) {
        throw new RpcError(Status.ALREADY_EXISTS, `The index already exists (${i.indexId}, ${i.state}): ${describeIndex(definition)}.`);
      }
    }
    const indexId = this.nextId();
    const index: ManagedIndex = { projectId, indexId, definition, state: 'CREATING' };
    const op = this.begin('CREATE_INDEX', index);
    indexes.set(indexId, index);
    return op;
  }

  delete(projectId: string, indexId: string): OperationRecord {
    const index = this.project(projectId).get(indexId);
    if (index === undefined) throw new RpcError(Status.NOT_FOUND, `The index ${indexId} does not exist in project ${projectId}.`);
    if (index.state !== 'READY' && index.state !== 'ERROR') {
      throw new RpcError(Status.FAILED_PRECONDITION, `The index ${indexId} is ${index.state}; only READY or ERROR indexes can be deleted.`);
    }
    index.state = 'DELETING';
    return this.begin('DELETE_INDEX', index);
  }

  private begin(type: OperationRecord['type'], index: ManagedIndex): OperationRecord {
    const start = this.now();
    const name = `projects/${index.projectId}/operations/${type === 'CREATE_INDEX' ? 'ci' : 'di'}-${index.indexId}-${++this.seq}`;
    index.dueAt = start + this.buildMs;
    index.operation = name;
    const op: OperationRecord = { name, type, projectId: index.projectId, indexId: index.indexId, startTime: start, done: false };
    this.operations.set(name, op);
    return op;
  }

  operation(name: string): OperationRecord {
    const op = this.operations.get(name);
    if (op === undefined) throw new RpcError(Status.NOT_FOUND, `Operation ${name} not found.`);
    this.project(op.projectId);
    return op;
  }

  /** The index of a live operation (for its metadata), as it is now. */
  indexOf(op: OperationRecord): ManagedIndex | undefined {
    if (op.result !== undefined) return op.result;
    const i = this.projects.get(op.projectId)?.get(op.indexId);
    return i === undefined ? undefined : { ...i };
  }

  listOperations(projectId: string): OperationRecord[] {
    this.project(projectId);
    return [...this.operations.values()].filter((o) => o.projectId === projectId);
  }
}
