/**
 * Commit: validate every mutation, check the transaction, then apply all of
 * them at one commit time. Nothing is written until everything has passed,
 * so a failed commit leaves no trace (besides ids it allocated, which are
 * never handed out again anyway).
 */
import type { ICommitRequest, ICommitResponse, IEntity, IKey, IMutation, IMutationResult } from '../model/proto.js';
import type { Value as IValue } from '../model/proto.js';
import { fromTimestamp, toTimestamp } from './clock.js';
import { encodePath, isComplete, kindOf, normalizeKey, type RequestScope } from './keys.js';
import type { StoredEntity } from './snapshot.js';
import { PackedEntity, copyOut } from './packed.js';
import { requestPacked } from './commit-request.js';
import { encodeProperties } from './wire.js';
import type { Database, Store } from './store.js';
import type { Transaction, Transactions } from './transactions.js';
import { validateProperties } from './validate.js';
import { formatKey } from '../model/key-text.js';
import { entitySize } from '../model/storage-size.js';
import { MAX_ENTITY_BYTES } from '../model/limits.js';
import { RpcError, Status, invalidArgument } from './rpc-error.js';
import { applyTransforms, type PropertyTransform } from './transforms.js';
import { applyMask } from './property-mask.js';

type Op = 'insert' | 'update' | 'upsert' | 'delete';

interface Prepared {
  op: Op;
  key: IKey;
  ns: string;
  sortKey: string;
  kind: string;
  /** Properties to write (insert/update/upsert). */
  properties?: Record<string, IValue>;
  /** The same properties as the request's bytes, where they are what encodeProperties would write (commit-request.ts). */
  packed?: Buffer | undefined;
  allocated: boolean;
  baseVersion?: number;
  baseUpdateTime?: number;
  failOnConflict: boolean;
  maskPaths?: string[];
  transforms: PropertyTransform[];
}

export interface CommitContext {
  store: Store;
  transactions: Transactions;
  db: Database;
  scope: RequestScope;
}

export function commit(ctx: CommitContext, request: ICommitRequest): ICommitResponse {
  const { store, transactions, db, scope } = ctx;
  const req = request as ICommitRequest & { transactionSelector?: string };
  const mode = String(req.mode ?? 'MODE_UNSPECIFIED');
  let tx: Transaction | undefined;
  let transactional: boolean;
  if (mode === 'NON_TRANSACTIONAL') {
    if (req.transactionSelector === 'transaction' || req.transactionSelector === 'singleUseTransaction') {
      throw invalidArgument('a NON_TRANSACTIONAL commit cannot name a transaction');
    }
    transactional = false;
  } else {
    transactional = true;
    if (req.transactionSelector === 'transaction') {
      tx = transactions.get(db, req.transaction);
    } else if (req.transactionSelector === 'singleUseTransaction') {
      if (req.singleUseTransaction?.readOnly) {
        throw invalidArgument('a single-use transaction for a commit must be read-write');
      }
    } else {
      throw invalidArgument(
        'transaction required: a TRANSACTIONAL commit needs a transaction or single_use_transaction (or use mode NON_TRANSACTIONAL)',
      );
    }
  }

  const mutations = req.mutations ?? [];
  if (tx?.readOnly && mutations.length > 0) {
    throw invalidArgument('Cannot modify entities in a read-only transaction.');
  }
  const prepared = mutations.map((m, i) => prepare(m, i, scope));
  checkSequences(prepared, transactional);
  if (tx !== undefined && !tx.readOnly) transactions.validate(tx);
  if (tx !== undefined) transactions.finish(tx);

  // Incomplete keys get ids only now that the request is known to be valid.
  for (const p of prepared) {
    if (!isComplete(p.key)) {
      const path = p.key.path!;
      const last = path[path.length - 1]!;
      const parent = encodePath(path.slice(0, -1));
      const id = db.ids.allocate((candidate) => {
        const sk = parent + encodePath([{ kind: last.kind!, id: candidate }]);
        return db.row(p.ns, sk) !== undefined;
      });
      path[path.length - 1] = { kind: last.kind!, id };
      p.sortKey = encodePath(path);
      p.allocated = true;
    }
  }

  const time = store.clock.tick();
  const results = simulate(db, prepared, time);
  for (const w of results.writes) store.write(db, w.ns, w.sortKey, w.kind, w.entity, time);
  store.sweep();

  const response: ICommitResponse = {
    mutationResults: results.results,
    indexUpdates: results.indexUpdates,
  };
  if (transactional) response.commitTime = toTimestamp(time);
  return response;
}

function prepare(m: IMutation, i: number, scope: RequestScope): Prepared {
  const op = (m as IMutation & { operation?: string }).operation as Op | undefined;
  const where = `mutation ${i}`;
  if (op === undefined) throw invalidArgument(`${where} has no operation (insert, update, upsert or delete)`);
  const entity: IEntity | null | undefined = op === 'delete' ? undefined : (m[op] as IEntity | null | undefined);
  const rawKey = op === 'delete' ? m.delete : entity?.key;
  const key = normalizeKey(rawKey, scope, { allowIncomplete: op === 'insert' || op === 'upsert', refuseReserved: true }, `${where} key`);
  const p: Prepared = {
    op,
    key,
    ns: key.partitionId!.namespaceId!,
    sortKey: isComplete(key) ? encodePath(key.path!) : '',
    kind: kindOf(key),
    allocated: false,
    failOnConflict: String(m.conflictResolutionStrategy ?? '') === 'FAIL',
    transforms: [],
  };
  const strategy = (m as IMutation & { conflictDetectionStrategy?: string }).conflictDetectionStrategy;
  if (strategy === 'baseVersion') p.baseVersion = Number(m.baseVersion);
  else if (strategy === 'updateTime') p.baseUpdateTime = fromTimestamp(m.updateTime!, `${where} update_time`);
  else if (p.failOnConflict) throw invalidArgument(`${where}: conflict_resolution_strategy needs base_version or update_time`);
  if (op !== 'delete') {
    const properties = (entity?.properties ?? {}) as Record<string, IValue>;
    const asSent = validateProperties(properties, scope, `${where} (${formatKey(key)})`);
    const size = entitySize({ key, properties });
    if (size > MAX_ENTITY_BYTES) {
      throw invalidArgument(
        `${where}: entity ${formatKey(key)} is too big: ${size} bytes is over the limit of ${MAX_ENTITY_BYTES} bytes` +
          ' (Datastore storage size formula)',
      );
    }
    p.properties = properties;
    if (asSent && entity) p.packed = requestPacked(entity);
    const paths = m.propertyMask?.paths ?? [];
    if (paths.length > 0) p.maskPaths = paths;
    p.transforms = (m.propertyTransforms ?? []) as PropertyTransform[];
  } else if ((m.propertyTransforms ?? []).length > 0) {
    throw invalidArgument(`${where}: property_transforms cannot be used with delete`);
  }
  return p;
}

/**
 * Datastore's rules for several mutations of one entity: none in a
 * non-transactional commit; in a transaction no insert after an
 * insert/update/upsert and no update after a delete.
 */
function checkSequences(prepared: Prepared[], transactional: boolean): void {
  const last = new Map<string, Op>();
  for (const p of prepared) {
    if (p.sortKey === '') continue;
    const id = `${p.ns}\u0000${p.sortKey}`;
    const before = last.get(id);
    if (before !== undefined) {
      if (!transactional) {
        throw invalidArgument(`A non-transactional commit may not contain multiple mutations affecting the same entity: ${formatKey(p.key)}`);
      }
      if ((p.op === 'insert' && before !== 'delete') || (p.op === 'update' && before === 'delete')) {
        throw invalidArgument(`${before} followed by ${p.op} of the same entity is not allowed in one commit: ${formatKey(p.key)}`);
      }
    }
    last.set(id, p.op);
  }
}

interface Write {
  ns: string;
  sortKey: string;
  kind: string;
  entity: StoredEntity | null;
}

function simulate(db: Database, prepared: Prepared[], time: number): { results: IMutationResult[]; writes: Write[]; indexUpdates: number } {
  // State as this commit has left it so far, for repeated keys in a transaction.
  const overlay = new Map<string, StoredEntity | null>();
  const writes = new Map<string, Write>();
  const results: IMutationResult[] = [];
  let indexUpdates = 0;
  const stamp = toTimestamp(time);
  const version = String(time);
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i]!;
    const id = `${p.ns}\u0000${p.sortKey}`;
    const current = overlay.has(id) ? overlay.get(id)! : (db.row(p.ns, p.sortKey)?.latest()?.entity ?? null);
    const result: IMutationResult = { conflictDetected: false };
    if (p.allocated) result.key = p.key;
    if (conflicts(p, current)) {
      if (p.failOnConflict) {
        throw new RpcError(Status.FAILED_PRECONDITION, `mutation ${i}: ${formatKey(p.key)} has changed since base_version/update_time`);
      }
      result.conflictDetected = true;
      if (current !== null) {
        result.version = current.version;
        result.createTime = current.createTime;
        result.updateTime = current.updateTime;
      } else {
        result.version = version;
      }
      results.push(result);
      continue;
    }
    if (p.op === 'insert' && current !== null) {
      throw new RpcError(Status.ALREADY_EXISTS, `entity already exists: ${formatKey(p.key)}`);
    }
    if (p.op === 'update' && current === null) {
      throw new RpcError(Status.NOT_FOUND, `no entity to update: ${formatKey(p.key)}`);
    }
    let next: StoredEntity | null = null;
    if (p.op !== 'delete') {
      let properties = p.properties!;
      if (p.maskPaths !== undefined) properties = applyMask(current?.properties ?? {}, properties, p.maskPaths);
      const transformResults: IValue[] = [];
      if (p.transforms.length > 0) {
        properties = applyTransforms(properties, p.transforms, stamp, transformResults, `mutation ${i}`);
        result.transformResults = transformResults;
      }
      const created = current === null ? time : current instanceof PackedEntity ? current.createMicros : fromTimestamp(current.createTime);
      const entries = propertyIndexEntries(properties);
      // the request's bytes when they are the properties as they stay (no mask or transform changed them): copied, not encoded again
      const asSent = p.packed !== undefined && p.maskPaths === undefined && p.transforms.length === 0;
      const packed = asSent ? copyOut(p.packed!) : encodeProperties(properties as Record<string, IValue>);
      next = new PackedEntity(p.key, packed, created, time, entries);
      result.createTime = next.createTime;
      result.updateTime = stamp;
      indexUpdates += entries;
    }
    result.version = version;
    indexUpdates += indexEntries(current);
    overlay.set(id, next);
    writes.set(id, { ns: p.ns, sortKey: p.sortKey, kind: p.kind, entity: next });
    results.push(result);
  }
  return { results, writes: [...writes.values()], indexUpdates };
}

function conflicts(p: Prepared, current: StoredEntity | null): boolean {
  if (p.baseVersion !== undefined) return p.baseVersion !== (current === null ? 0 : Number(current.version));
  if (p.baseUpdateTime !== undefined) return current === null || p.baseUpdateTime !== fromTimestamp(current.updateTime);
  return false;
}

/**
 * Built-in index entries of an entity: one for the kind/key, one ascending
 * and one descending per indexed value. An approximation of Datastore's
 * count, which reports entries written plus entries removed.
 */
function indexEntries(e: StoredEntity | null): number {
  if (e === null) return 0;
  if (e instanceof PackedEntity && e.indexEntries !== undefined) return e.indexEntries;
  return propertyIndexEntries(e.properties);
}

function propertyIndexEntries(properties: Readonly<Record<string, IValue>>): number {
  let n = 1;
  for (const name in properties) n += 2 * indexedValues(properties[name]!);
  return n;
}

function indexedValues(v: IValue): number {
  if (v.excludeFromIndexes) return 0;
  if (v.valueType === 'arrayValue') {
    let n = 0;
    for (const e of v.arrayValue?.values ?? []) n += indexedValues(e);
    return n;
  }
  if (v.valueType === 'entityValue') {
    let n = 0;
    const props = v.entityValue?.properties ?? {};
    for (const name in props) n += indexedValues(props[name]!);
    return n;
  }
  return 1;
}
