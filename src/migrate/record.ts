/**
 * The `DspipeMigration` kind: one entity per migration (key name = migration
 * name, default namespace of the target database) recording what ran, with
 * which script checksum, how far it got and how it ended. Conversion to and
 * from the entity is pure; reading and saving go through the raw client with
 * our retry policy.
 */
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import { requestBase } from '../datastore/connection.js';
import type { IEntity, IKey, IValue } from '../datastore/proto.js';
import { withRetry, DEFAULT_RETRY, type RetryPolicy } from '../datastore/retry.js';
import { queryPages, SINGLE_ATTEMPT } from '../datastore/run-query.js';
import { decodeKey, encodeKey } from '../format/entity-codec.js';
import { EntityHelper, Timestamp } from '../format/entity-helper.js';
import { MIGRATION_KIND } from '../format/migrate-options.js';
import { parseTime } from '../format/transforms.js';
import { DspipeError } from '../errors.js';

export type MigrationStatus = 'running' | 'applied' | 'failed';

export interface KindCheckpoint {
  namespace: string;
  kind: string;
  /** Every entity of this namespace/kind has been migrated. */
  done: boolean;
  /** Entities up to and including this key are migrated (null: none yet). */
  lastKey: IKey | null;
}

export interface MigrationCounts {
  /** Entities read and given to the transform. */
  read: number;
  /** Entities rewritten. */
  changed: number;
  deleted: number;
  unchanged: number;
  /** Writes that met a concurrent change and were read and transformed again. */
  conflicts: number;
}

export interface MigrationRecord {
  name: string;
  checksum: string;
  description: string;
  kinds: string[];
  status: MigrationStatus;
  /** RFC 3339. */
  startedAt: string;
  finishedAt: string | null;
  counts: MigrationCounts;
  checkpoint: KindCheckpoint[];
  /** What stopped a failed run. */
  error: string | null;
}

export const ZERO_COUNTS: MigrationCounts = { read: 0, changed: 0, deleted: 0, unchanged: 0, conflicts: 0 };

export function recordKey(connection: Connection, name: string): IKey {
  return {
    partitionId: { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: '' },
    path: [{ kind: MIGRATION_KIND, name }],
  };
}

/** RFC 3339 → Timestamp, microseconds kept. */
function time(text: string): Timestamp {
  const t = parseTime(text, { kind: 'iso' });
  if (typeof t === 'string') throw new DspipeError('DSPIPE_INVALID_OPTION', t);
  return t;
}

export function recordToEntity(record: MigrationRecord, key: IKey): IEntity {
  const e = new EntityHelper({ key, properties: {} });
  e.set('name', record.name);
  e.set('checksum', record.checksum);
  e.set('description', record.description, { excludeFromIndexes: true });
  e.set('kinds', record.kinds);
  e.set('status', record.status);
  e.set('startedAt', time(record.startedAt));
  e.set('finishedAt', record.finishedAt === null ? null : time(record.finishedAt));
  for (const [name, n] of Object.entries(record.counts)) e.set(name, BigInt(n));
  const checkpoint = record.checkpoint.map((c) => ({ namespace: c.namespace, kind: c.kind, done: c.done, lastKey: c.lastKey && encodeKey(c.lastKey) }));
  e.set('checkpoint', JSON.stringify(checkpoint), { excludeFromIndexes: true });
  e.set('error', record.error, { excludeFromIndexes: true });
  return e.toEntity();
}

function corrupt(name: string, what: string): never {
  throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the ${MIGRATION_KIND} record ${JSON.stringify(name)} ${what}`, {
    kind: MIGRATION_KIND,
    hint: `it was changed by hand; fix or delete the ${MIGRATION_KIND} entity (deleting it makes the migration pending again)`,
  });
}

export function recordFromEntity(entity: IEntity): MigrationRecord {
  const e = new EntityHelper(entity);
  const name = String(e.key?.path?.[e.key.path.length - 1]?.name ?? e.get('name') ?? '');
  const str = (p: string) => {
    const v = e.get(p);
    return typeof v === 'string' ? v : corrupt(name, `has no string ${p}`);
  };
  const time = (p: string) => {
    const v = e.get(p);
    return v instanceof Timestamp ? v.toRfc3339() : v === null || v === undefined ? null : corrupt(name, `has a ${p} that is not a timestamp`);
  };
  const count = (p: string) => {
    const v = e.get(p);
    return typeof v === 'bigint' ? Number(v) : 0;
  };
  const status = str('status');
  if (status !== 'running' && status !== 'applied' && status !== 'failed') corrupt(name, `has an unknown status ${JSON.stringify(status)}`);
  let checkpoint: KindCheckpoint[] = [];
  try {
    const raw = JSON.parse(str('checkpoint')) as Array<{ namespace: string; kind: string; done: boolean; lastKey: unknown }>;
    checkpoint = raw.map((c) => ({ namespace: c.namespace, kind: c.kind, done: c.done === true, lastKey: c.lastKey ? decodeKey(c.lastKey) : null }));
  } catch (err) {
    if (err instanceof DspipeError && err.kind === MIGRATION_KIND) throw err;
    corrupt(name, `has an unreadable checkpoint (${(err as Error).message})`);
  }
  const kinds = e.get('kinds');
  const errorText = e.get('error');
  return {
    name,
    checksum: str('checksum'),
    description: typeof e.get('description') === 'string' ? (e.get('description') as string) : '',
    kinds: Array.isArray(kinds) ? kinds.filter((k): k is string => typeof k === 'string') : [],
    status,
    startedAt: time('startedAt') ?? corrupt(name, 'has no startedAt'),
    finishedAt: time('finishedAt'),
    counts: { read: count('read'), changed: count('changed'), deleted: count('deleted'), unchanged: count('unchanged'), conflicts: count('conflicts') },
    checkpoint,
    error: typeof errorText === 'string' ? errorText : null,
  };
}

/** Every migration record of the database, by name. */
export async function readMigrationRecords(
  client: DatastoreClient,
  connection: Connection,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<Map<string, MigrationRecord>> {
  const records = new Map<string, MigrationRecord>();
  const query = { kind: [{ name: MIGRATION_KIND }] };
  for await (const page of queryPages(client, connection, '', query, { retry })) {
    for (const r of page.results) {
      if (!r.entity) continue;
      const record = recordFromEntity(r.entity);
      records.set(record.name, record);
    }
  }
  return records;
}

/** Upserts the record (idempotent, so retried freely). */
export async function saveMigrationRecord(
  client: DatastoreClient,
  connection: Connection,
  record: MigrationRecord,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<void> {
  const entity = recordToEntity(record, recordKey(connection, record.name));
  await withRetry(
    () => client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: entity }] }, SINGLE_ATTEMPT),
    retry,
  );
}

export type { IValue };
