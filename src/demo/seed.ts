/**
 * Writing the sample dataset, and reading entities back by key for the
 * demo's final comparison. Plain Commit and Lookup calls on the raw client:
 * the demo checks the restore pipeline, so it does not seed or verify with it.
 */
import { isDeepStrictEqual } from 'node:util';
import { requestBase, type Connection, type DatastoreClient } from '../datastore/connection.js';
import type { IEntity, IKey, ILookupResponse } from '../model/proto.js';
import { BatchAccumulator, keyIdentity, type WriteOp } from '../format/batching.js';
import { withRetry } from '../datastore/retry.js';
import { NO_GAX_RETRY } from '../stages/entity-writer.js';
import { formatKey } from '../model/key-text.js';

export async function seedEntities(client: DatastoreClient, connection: Connection, entities: readonly IEntity[]): Promise<number> {
  const acc = new BatchAccumulator({ maxBytes: 4 * 1024 * 1024, maxOps: 500 });
  const commit = async (batch: WriteOp[] | undefined) => {
    if (!batch) return;
    const mutations = batch.map((op) => ({ upsert: op.entity! }));
    await withRetry(() => client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations }, NO_GAX_RETRY));
  };
  for (const entity of entities) await commit(acc.add({ op: 'upsert', entity }));
  await commit(acc.take());
  return entities.length;
}

/** Looks every key up (1,000 per call, following `deferred`); returns found entities by key identity. */
export async function lookupAll(client: DatastoreClient, connection: Connection, keys: readonly IKey[]): Promise<Map<string, IEntity>> {
  const found = new Map<string, IEntity>();
  for (let i = 0; i < keys.length; i += 1000) {
    let pending: IKey[] = keys.slice(i, i + 1000);
    while (pending.length > 0) {
      const request = { ...requestBase(connection), keys: pending };
      const [res] = await withRetry(() => client.lookup(request, NO_GAX_RETRY) as Promise<[ILookupResponse, unknown, unknown]>);
      for (const r of res.found ?? []) found.set(keyIdentity(r.entity!.key!), r.entity!);
      pending = res.deferred ?? [];
    }
  }
  return found;
}

export interface Comparison {
  compared: number;
  missing: string[];
  different: string[];
}

/** Compares two Lookup results field by field, as the client decoded the protobuf. */
export function compareEntities(expected: ReadonlyMap<string, IEntity>, actual: ReadonlyMap<string, IEntity>): Comparison {
  const result: Comparison = { compared: 0, missing: [], different: [] };
  for (const [id, entity] of expected) {
    const other = actual.get(id);
    result.compared++;
    if (!other) result.missing.push(formatKey(entity.key));
    else if (!isDeepStrictEqual(entity, other)) result.different.push(formatKey(entity.key));
  }
  return result;
}
