/**
 * Whether the backend honours `base_version`, the guard that keeps a
 * migration from overwriting an app's concurrent write (every rewrite is
 * conditional on the version it read). Google's Firestore emulator in
 * Datastore mode ignores it: a stale conditional write lands (BACKENDS.md, 8).
 * Production, Google's legacy emulator and dspipe's report the conflict.
 *
 * Found by behaviour with one scratch entity: write it twice, then update it
 * conditionally on the first version. A backend that honours base_version
 * reports a conflict and leaves the entity alone. The entity is deleted after.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import { requestBase } from '../datastore/connection.js';
import { withRetry, type RetryPolicy } from '../datastore/retry.js';
import { SINGLE_ATTEMPT } from '../datastore/run-query.js';
import type { ICommitResponse, IEntity, IMutation } from '../model/proto.js';

/** The scratch entity's kind: plain (not reserved), so every backend stores it, and named so no one mistakes it. */
export const PROBE_KIND = 'DspipeBaseVersionProbe';

export async function honoursBaseVersion(client: DatastoreClient, connection: Connection, retry: RetryPolicy, signal?: AbortSignal): Promise<boolean> {
  const key = { partitionId: { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: '' }, path: [{ kind: PROBE_KIND, name: randomBytes(8).toString('hex') }] };
  const entity = (n: number): IEntity => ({ key, properties: { n: { integerValue: String(n) } } });
  const commit = async (mutation: IMutation) => {
    const [response] = await withRetry<[ICommitResponse]>(
      () => client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: [mutation] }, SINGLE_ATTEMPT),
      retry,
      signal ? { signal } : {},
    );
    return response.mutationResults?.[0] ?? {};
  };
  try {
    const first = await commit({ upsert: entity(1) });
    await commit({ upsert: entity(2) });
    const stale = await commit({ update: entity(3), baseVersion: String(first.version ?? '0') });
    return stale.conflictDetected === true;
  } finally {
    await commit({ delete: key }).catch(() => {});
  }
}
