/**
 * The `DspipeMigration` kind: one entity per migration (key name = migration
 * name, default namespace of the target database) recording what ran, with
 * which script checksum, how far it got and how it ended. Conversion to and
 * from the entity is pure; reading and saving go through the raw client with
 * our retry policy.
 */
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import { requestBase } from '../datastore/connection.js';
import type { ICommitResponse, IEntity, IKey, ILookupResponse, IMutation } from '../model/proto.js';
import { withRetry, DEFAULT_RETRY, type RetryPolicy } from '../datastore/retry.js';
import { queryPages, SINGLE_ATTEMPT } from '../datastore/run-query.js';
import { decodeKey, encodeEntity, encodeKey } from '../format/entity-codec.js';
import { EntityHelper, Timestamp } from '../format/entity-helper.js';
import { MIGRATION_KIND } from '../options/migrate.js';
import { parseTime } from '../format/transforms.js';
import { DspipeError } from '../errors.js';
import type { WriteWindow } from './checkpoint.js';

/** `interrupted`: stopped on request (Ctrl-C) after its in-flight commits finished and its checkpoint was saved. */
export type MigrationStatus = 'running' | 'applied' | 'failed' | 'interrupted';

export interface KindCheckpoint {
  namespace: string;
  kind: string;
  /** Every entity of this namespace/kind has been migrated. */
  done: boolean;
  /** Entities up to and including this key are migrated and committed (null: none yet). */
  lastKey: IKey | null;
  /** Where writes past `lastKey` may have been sent, and since which version (see migrate/checkpoint.ts). */
  windows?: WriteWindow[];
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
  /** Random id of the run that last saved the record: tells two runs of one migration apart. */
  runId: string;
  /** The entity version this record was read or last saved at (not stored); undefined for a new record. */
  version?: string;
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
  const checkpoint = record.checkpoint.map((c) => ({
    namespace: c.namespace,
    kind: c.kind,
    done: c.done,
    lastKey: c.lastKey && encodeKey(c.lastKey),
    ...(c.windows && c.windows.length > 0 && { windows: c.windows.map((w) => ({ upTo: encodeKey(w.upTo), after: w.after })) }),
  }));
  e.set('checkpoint', JSON.stringify(checkpoint), { excludeFromIndexes: true });
  e.set('error', record.error, { excludeFromIndexes: true });
  e.set('runId', record.runId, { excludeFromIndexes: true });
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
  if (status !== 'running' && status !== 'applied' && status !== 'failed' && status !== 'interrupted') corrupt(name, `has an unknown status ${JSON.stringify(status)}`);
  let checkpoint: KindCheckpoint[] = [];
  try {
    const raw = JSON.parse(str('checkpoint')) as Array<{ namespace: string; kind: string; done: boolean; lastKey: unknown; windows?: Array<{ upTo: unknown; after: unknown }> }>;
    checkpoint = raw.map((c) => ({
      namespace: c.namespace,
      kind: c.kind,
      done: c.done === true,
      lastKey: c.lastKey ? decodeKey(c.lastKey) : null,
      ...(Array.isArray(c.windows) && { windows: c.windows.map((w) => ({ upTo: decodeKey(w.upTo), after: typeof w.after === 'string' ? w.after : null })) }),
    }));
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
    runId: typeof e.get('runId') === 'string' ? (e.get('runId') as string) : '',
  };
}

/** Every migration record of the database, by name, with the version each was read at. */
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
      records.set(record.name, { ...record, version: String(r.version ?? '') });
    }
  }
  return records;
}

const ALREADY_EXISTS = 6;

function concurrentRun(name: string): DspipeError {
  return new DspipeError('DSPIPE_MIGRATION_FAILED', `migration ${name} is being run by another dspipe at the same time (its ${MIGRATION_KIND} record changed under this run)`, {
    kind: MIGRATION_KIND,
    hint: 'let the other run finish (dspipe migrate status shows its progress); a stopped run is resumed by the next dspipe migrate up',
  });
}

/**
 * Saves the record and returns its new version. Each save is conditional on
 * the version this run last saw (insert for a new record), so two runs of one
 * migration at once are caught at the first checkpoint instead of both
 * rewriting the same entities. A conflict caused by our own earlier attempt
 * (a commit that landed but whose reply was lost, then retried) is told apart
 * by reading the record back.
 */
export async function saveMigrationRecord(
  client: DatastoreClient,
  connection: Connection,
  record: MigrationRecord,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<string> {
  const key = recordKey(connection, record.name);
  const entity = recordToEntity(record, key);
  const mutation: IMutation = record.version === undefined ? { insert: entity } : { upsert: entity, baseVersion: record.version };
  let response: ICommitResponse;
  try {
    [response] = await withRetry<[ICommitResponse, ...unknown[]]>(
      () => client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: [mutation] }, SINGLE_ATTEMPT),
      retry,
    );
  } catch (err) {
    if ((err as { code?: unknown }).code !== ALREADY_EXISTS) throw err;
    return adoptOwnWrite(client, connection, key, entity, record.name, retry);
  }
  const result = response.mutationResults?.[0];
  if (result?.conflictDetected) return adoptOwnWrite(client, connection, key, entity, record.name, retry);
  return String(result?.version ?? '');
}

async function adoptOwnWrite(client: DatastoreClient, connection: Connection, key: IKey, entity: IEntity, name: string, retry: RetryPolicy): Promise<string> {
  const [response] = await withRetry<[ILookupResponse, ...unknown[]]>(() => client.lookup({ ...requestBase(connection), keys: [key] }, SINGLE_ATTEMPT), retry);
  const found = response.found?.[0];
  if (found?.entity && encodeEntity(found.entity) === encodeEntity(entity)) return String(found.version ?? '');
  throw concurrentRun(name);
}
