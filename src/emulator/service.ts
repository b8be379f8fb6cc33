/**
 * The Datastore v1 methods over the store, independent of gRPC: each takes
 * the request object as proto-loader decodes it and returns the response
 * object, or throws an RpcError-shaped {code, details}.
 */
import type {
  IAggregationQuery,
  IGqlQuery,
  IKey,
  ILookupRequest,
  ILookupResponse,
  IQuery,
  IRunQueryRequest,
  IRunQueryResponse,
  ICommitRequest,
  ICommitResponse,
  IEntityResult,
} from '../model/proto.js';
import type { google } from '@google-cloud/datastore/build/protos/protos.js';
import { toTimestamp } from './clock.js';
import { commit } from './commit.js';
import { encodePath, isComplete, normalizeKey, partitionOf, type RequestScope } from './keys.js';
import type { IKey as Key } from '../model/proto.js';

/** The last path element as Google's messages print it: `K: 5` or `K: name`. */
function elementText(key: Key): string {
  const e = key.path![key.path!.length - 1]!;
  return `${e.kind}: ${e.id ?? e.name ?? ''}`;
}
import { beginTransaction, resolveRead, type ResolvedRead } from './reads.js';
import type { DatabaseSnapshot } from './snapshot.js';
import { Store, type Database, type RowWrite, type StoreOptions } from './store.js';
import type { DurableLog } from './durable.js';
import { Transactions } from './transactions.js';
import { invalidArgument } from './rpc-error.js';
import type { IndexDefinition } from '../format/index-yaml.js';
import { IndexRegistry } from './indexes.js';
import { IndexPolicy, type IndexUsed } from './index-policy.js';
import { explainMetrics } from './explain.js';
import type { Plan, RunOptions, RunStats } from './query/index.js';
import { entitySize } from '../model/storage-size.js';
import { packedSize } from './packed.js';

/**
 * Lookup defers the keys past this many response bytes. Production defers "due
 * to resource constraints" at a size it does not document; both Google
 * emulators answered 28 entities of 1 MB whole (2026-12-02), so ours defers
 * only well past that, keeping one response within reach of any client.
 */
const LOOKUP_DEFER_BYTES = 32 * 1024 * 1024;

type v1 = typeof google.datastore.v1;
type Req<T> = T & { projectId?: string | null; databaseId?: string | null };


/** The query engine's entry points (src/emulator/query/). */
export interface QueryEngine {
  runQuery(
    snapshot: DatabaseSnapshot,
    partition: { projectId: string; databaseId: string; namespaceId: string },
    request: { query?: IQuery; gqlQuery?: IGqlQuery },
    options?: RunOptions,
  ): { batch: google.datastore.v1.IQueryResultBatch; query: IQuery };
  runAggregationQuery(
    snapshot: DatabaseSnapshot,
    partition: { projectId: string; databaseId: string; namespaceId: string },
    request: { aggregationQuery?: IAggregationQuery; gqlQuery?: IGqlQuery },
    options?: RunOptions,
  ): { batch: google.datastore.v1.IAggregationResultBatch; query?: IAggregationQuery };
  planOnly(
    partition: { projectId: string; databaseId: string; namespaceId: string },
    request: { query?: IQuery; aggregationQuery?: IAggregationQuery; gqlQuery?: IGqlQuery },
    aggregation: boolean,
  ): { plan: Plan; query: IQuery };
}

/** Composite indexes: the Admin API's build time, --require-indexes, --write-indexes. */
export interface IndexServiceOptions {
  /** How long CreateIndex and DeleteIndex take (default a few hundred ms). */
  buildMs?: number;
  /** Require composite indexes, starting with these READY in every project; undefined: never refuse a query. */
  required?: readonly IndexDefinition[];
  /** Told about every composite index a query needed. */
  record?: (index: IndexDefinition) => void;
}

export interface ServiceOptions extends StoreOptions {
  /** Transaction lifetime (default 270 s, as Datastore). */
  transactionTimeoutMs?: number;
  indexes?: IndexServiceOptions;
}

type ExplainOptions = { analyze?: boolean | null } | null | undefined;

export class DatastoreService {
  store: Store;
  transactions: Transactions;
  readonly indexes: IndexRegistry;
  private readonly indexPolicy: IndexPolicy;
  private readonly engine: () => Promise<QueryEngine>;
  private readonly options: ServiceOptions;

  constructor(engine: () => Promise<QueryEngine>, options: ServiceOptions = {}) {
    this.options = options;
    this.store = new Store(options);
    this.transactions = new Transactions(options.transactionTimeoutMs);
    this.engine = engine;
    const ix = options.indexes ?? {};
    this.indexes = new IndexRegistry(() => this.store, {
      ...(ix.buildMs !== undefined && { buildMs: ix.buildMs }),
      ...(ix.required !== undefined && { initial: ix.required }),
    });
    this.indexPolicy = new IndexPolicy(this.indexes, { require: ix.required !== undefined, ...(ix.record && { record: ix.record }) });
  }

  /** The run's hooks: the index check (and what it used) and, for explain, the stats. */
  private runHooks(projectId: string, explain: ExplainOptions): { options: RunOptions; used: () => IndexUsed[]; stats: RunStats } {
    let used: IndexUsed[] = [];
    const stats: RunStats = { scanned: 0 };
    const options: RunOptions = {
      checkPlan: (plan, query) => {
        used = this.indexPolicy.check(projectId, plan, query.filter);
      },
    };
    if (explain) options.stats = stats;
    return { options, used: () => used, stats };
  }

  /** With --data-dir: where mutations are made durable before they are answered. */
  durable: DurableLog | undefined;

  /** Drops every project's data and every open transaction (`POST /reset`). */
  async reset(): Promise<void> {
    this.store.clear();
    this.transactions = new Transactions(this.options.transactionTimeoutMs);
    this.indexes.reset();
    await this.durable?.reset();
  }

  /**
   * Runs a mutating method; with a durable log, answers only once what it
   * changed (rows, the id counter, reserved ids) is on disk.
   */
  private mutate<T>(db: Database, run: () => T, reserved: readonly string[] = []): T | Promise<T> {
    const durable = this.durable;
    if (durable === undefined) return run();
    const writes: RowWrite[] = [];
    const allocated = db.ids.allocated;
    const before = this.store.clock.latest();
    this.store.collect = writes;
    let result: T;
    try {
      result = run();
    } finally {
      this.store.collect = undefined;
    }
    if (writes.length === 0 && reserved.length === 0 && db.ids.allocated === allocated) return result;
    const time = this.store.clock.latest();
    return durable.append(db, writes, writes.length > 0 && time !== before ? time : undefined, reserved).then(() => result);
  }

  private scope(request: Req<object>): { scope: RequestScope; db: Database } {
    const projectId = request.projectId ?? '';
    if (projectId === '') throw invalidArgument('The app id is the empty string. (project_id is required)');
    let databaseId = request.databaseId ?? '';
    // '(default)' is how some tools spell the default database; the API wants ''.
    if (databaseId === '(default)') databaseId = '';
    return { scope: { projectId, databaseId }, db: this.store.database(projectId, databaseId) };
  }

  lookup(request: Req<ILookupRequest>): ILookupResponse {
    const { scope, db } = this.scope(request);
    // No fixed cap on keys and none needed: like both Google emulators, answer what fits in one
    // response and defer the rest (1,001 keys are answered; a Lookup of no keys is an empty answer).
    const keys = request.keys ?? [];
    const normal = keys.map((k, i) => normalizeKey(k, scope, { allowIncomplete: false, refuseReserved: false }, `key ${i}`));
    const read = resolveRead(this.store, this.transactions, db, request.readOptions);
    const found: IEntityResult[] = [];
    const missing: IEntityResult[] = [];
    const deferred: IKey[] = [];
    const readVersion = String(read.time);
    let bytes = 0;
    for (const key of normal) {
      // Like Datastore, answer what fits in one response and defer the rest.
      if (bytes >= LOOKUP_DEFER_BYTES) {
        deferred.push(key);
        continue;
      }
      const ns = key.partitionId!.namespaceId!;
      const sortKey = encodePath(key.path!);
      const row = db.row(ns, sortKey);
      if (read.tx !== undefined) read.tx.reads.set(`${ns}\u0000${sortKey}`, read.time);
      const e = row?.at(read.time) ?? null;
      if (e === null) {
        missing.push({ entity: { key }, version: readVersion });
      } else {
        bytes += packedSize(e) ?? entitySize(e);
        found.push({
          entity: e as google.datastore.v1.IEntity,
          version: e.version,
          createTime: e.createTime,
          updateTime: e.updateTime,
        });
      }
    }
    const response: ILookupResponse = { found, missing, deferred, readTime: toTimestamp(read.time) };
    if (read.newTransaction !== undefined) response.transaction = read.newTransaction;
    return response;
  }

  private queryPartition(request: Req<{ partitionId?: google.datastore.v1.IPartitionId | null }>, scope: RequestScope) {
    return partitionOf({ partitionId: request.partitionId ?? {} }, scope);
  }

  private recordRange(read: ResolvedRead, namespace: string, query: IQuery | null | undefined): void {
    if (read.tx === undefined) return;
    const kind = query?.kind?.[0]?.name ?? '';
    const range = kind.startsWith('__') && kind.endsWith('__') ? '\u0000' : kind;
    read.tx.ranges.set(`${namespace}\u0000${range}`, read.time);
  }

  async runQuery(request: Req<IRunQueryRequest>): Promise<IRunQueryResponse> {
    const { scope, db } = this.scope(request);
    const partition = this.queryPartition(request, scope);
    const r = request as IRunQueryRequest & { queryType?: string };
    const input: { query?: IQuery; gqlQuery?: IGqlQuery } = {};
    if (r.queryType === 'gqlQuery' && r.gqlQuery) input.gqlQuery = r.gqlQuery;
    else if (r.query) input.query = r.query;
    else throw invalidArgument('the request has neither a query nor a gql_query');
    const engine = await this.engine();
    const read = resolveRead(this.store, this.transactions, db, request.readOptions);
    const explain = (request as { explainOptions?: ExplainOptions }).explainOptions;
    const hooks = this.runHooks(scope.projectId, explain);
    if (explain && !explain.analyze) {
      // Explain without analyze plans the query and reads nothing: no batch, as production answers.
      const { plan, query } = engine.planOnly(partition, input, false);
      hooks.options.checkPlan!(plan, query);
      const response = { explainMetrics: explainMetrics(hooks.used()) } as IRunQueryResponse;
      if (input.gqlQuery !== undefined) response.query = query;
      if (read.newTransaction !== undefined) response.transaction = read.newTransaction;
      return response;
    }
    const started = process.hrtime.bigint();
    const { batch, query } = engine.runQuery(this.store.snapshot(db, read.time), partition, input, hooks.options);
    batch.readTime = toTimestamp(read.time);
    this.recordRange(read, partition.namespaceId, query);
    const response: IRunQueryResponse = { batch };
    if (input.gqlQuery !== undefined) response.query = query;
    if (read.newTransaction !== undefined) response.transaction = read.newTransaction;
    if (explain) {
      const returned = batch.entityResults?.length ?? 0;
      const full = batch.entityResultType === 'FULL';
      (response as Record<string, unknown>).explainMetrics = explainMetrics(hooks.used(), {
        returned, scanned: hooks.stats.scanned, documents: full ? returned : 0, started,
      });
    }
    return response;
  }

  async runAggregationQuery(
    request: Req<google.datastore.v1.IRunAggregationQueryRequest>,
  ): Promise<google.datastore.v1.IRunAggregationQueryResponse> {
    const { scope, db } = this.scope(request);
    const partition = this.queryPartition(request, scope);
    const r = request as google.datastore.v1.IRunAggregationQueryRequest & { queryType?: string };
    const input: { aggregationQuery?: IAggregationQuery; gqlQuery?: IGqlQuery } = {};
    if (r.queryType === 'gqlQuery' && r.gqlQuery) input.gqlQuery = r.gqlQuery;
    else if (r.aggregationQuery) input.aggregationQuery = r.aggregationQuery;
    else throw invalidArgument('the request has neither an aggregation_query nor a gql_query');
    const engine = await this.engine();
    const read = resolveRead(this.store, this.transactions, db, request.readOptions);
    const explain = (request as { explainOptions?: ExplainOptions }).explainOptions;
    const hooks = this.runHooks(scope.projectId, explain);
    if (explain && !explain.analyze) {
      const { plan, query } = engine.planOnly(partition, input, true);
      hooks.options.checkPlan!(plan, query);
      return { explainMetrics: explainMetrics(hooks.used()) } as google.datastore.v1.IRunAggregationQueryResponse;
    }
    const started = process.hrtime.bigint();
    const result = engine.runAggregationQuery(this.store.snapshot(db, read.time), partition, input, hooks.options);
    result.batch.readTime = toTimestamp(read.time);
    const nested = result.query?.nestedQuery ?? input.aggregationQuery?.nestedQuery;
    this.recordRange(read, partition.namespaceId, nested);
    const response: google.datastore.v1.IRunAggregationQueryResponse = { batch: result.batch };
    if (input.gqlQuery !== undefined && result.query !== undefined) response.query = result.query;
    if (read.newTransaction !== undefined) response.transaction = read.newTransaction;
    if (explain) {
      (response as Record<string, unknown>).explainMetrics = explainMetrics(hooks.used(), {
        returned: result.batch.aggregationResults?.length ?? 0, scanned: hooks.stats.scanned, documents: 0, started,
      });
    }
    return response;
  }

  beginTransaction(request: Req<google.datastore.v1.IBeginTransactionRequest>): google.datastore.v1.IBeginTransactionResponse {
    const { db } = this.scope(request);
    const { id } = beginTransaction(this.store, this.transactions, db, request.transactionOptions);
    return { transaction: id };
  }

  commit(request: Req<ICommitRequest>): ICommitResponse | Promise<ICommitResponse> {
    const { scope, db } = this.scope(request);
    return this.mutate(db, () => commit({ store: this.store, transactions: this.transactions, db, scope }, request));
  }

  rollback(request: Req<google.datastore.v1.IRollbackRequest>): google.datastore.v1.IRollbackResponse {
    const { db } = this.scope(request);
    this.transactions.finish(this.transactions.get(db, request.transaction));
    return {};
  }

  allocateIds(request: Req<google.datastore.v1.IAllocateIdsRequest>): google.datastore.v1.IAllocateIdsResponse | Promise<google.datastore.v1.IAllocateIdsResponse> {
    const { scope, db } = this.scope(request);
    return this.mutate(db, () => this.allocate(db, scope, request));
  }

  private allocate(db: Database, scope: RequestScope, request: Req<google.datastore.v1.IAllocateIdsRequest>): google.datastore.v1.IAllocateIdsResponse {
    const keys = (request.keys ?? []).map((k, i) => {
      const key = normalizeKey(k, scope, { allowIncomplete: true, refuseReserved: true }, `key ${i}`);
      if (isComplete(key)) throw invalidArgument(`Key path element must not be complete: [${elementText(key)}] (key ${i}: AllocateIds takes keys without an id or name)`);
      return key;
    });
    const out: IKey[] = keys.map((key) => {
      const path = key.path!;
      const parent = encodePath(path.slice(0, -1));
      const kind = path[path.length - 1]!.kind!;
      const ns = key.partitionId!.namespaceId!;
      const id = db.ids.allocate((candidate) => db.row(ns, parent + encodePath([{ kind, id: candidate }])) !== undefined);
      path[path.length - 1] = { kind, id };
      return key;
    });
    return { keys: out };
  }

  reserveIds(request: Req<google.datastore.v1.IReserveIdsRequest>): google.datastore.v1.IReserveIdsResponse | Promise<google.datastore.v1.IReserveIdsResponse> {
    const { scope, db } = this.scope(request);
    const keys = (request.keys ?? []).map((k, i) => {
      const key = normalizeKey(k, scope, { allowIncomplete: false, refuseReserved: true }, `key ${i}`);
      const last = key.path![key.path!.length - 1]!;
      // A named key reserves nothing; both Google emulators accept it.
      return last.id == null ? undefined : String(last.id);
    }).filter((id): id is string => id !== undefined);
    const fresh = keys.filter((id) => !db.ids.isReserved(id));
    return this.mutate(db, () => {
      for (const id of keys) db.ids.reserve(id);
      return {};
    }, fresh);
  }
}

export type { v1 };
