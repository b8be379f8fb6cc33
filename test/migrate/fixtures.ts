/**
 * The type-change story's data: a User kind whose `birthday` is a timestamp
 * in most entities and already a "YYYY-MM-DD" string in others (the new code
 * has started writing), plus a few without one.
 */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection, DatastoreClient } from '../../src/datastore/connection.js';
import type { IEntity, IMutation, IValue } from '../../src/model/proto.js';
import { queryPages } from '../../src/datastore/run-query.js';
import { encodeEntity } from '../../src/format/entity-codec.js';

export const DAY = 86_400;
/** 1980-01-01 */
export const BASE_SECONDS = 315_532_800;

export function userKey(connection: Connection, i: number, namespace = '') {
  return { partitionId: { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: namespace }, path: [{ kind: 'User', name: `u${String(i).padStart(5, '0')}` }] };
}

export function birthdayString(i: number): string {
  return new Date((BASE_SECONDS + i * DAY) * 1000).toISOString().slice(0, 10);
}

/** Entity i: birthday a timestamp when i % 3 !== 0, a string when i % 3 === 0, missing when i % 50 === 7. */
export function user(connection: Connection, i: number, namespace = ''): IEntity {
  const properties: Record<string, IValue> = {
    name: { stringValue: `user ${i}` },
    visits: { integerValue: '0' },
    bio: { stringValue: 'x'.repeat(i % 20), excludeFromIndexes: true },
  };
  if (i % 50 !== 7) {
    properties.birthday = i % 3 === 0
      ? { stringValue: birthdayString(i) }
      : { timestampValue: { seconds: String(BASE_SECONDS + i * DAY), nanos: 0 }, excludeFromIndexes: i % 2 === 0 };
  }
  return { key: userKey(connection, i, namespace), properties };
}

export function expectedCounts(n: number) {
  let timestamp = 0;
  let string = 0;
  let missing = 0;
  for (let i = 0; i < n; i++) {
    if (i % 50 === 7) missing++;
    else if (i % 3 === 0) string++;
    else timestamp++;
  }
  return { timestamp, string, missing };
}

export async function commit(client: DatastoreClient, connection: Connection, mutations: IMutation[]): Promise<void> {
  for (let i = 0; i < mutations.length; i += 500) {
    await client.commit({ projectId: connection.projectId, databaseId: connection.databaseId, mode: 'NON_TRANSACTIONAL', mutations: mutations.slice(i, i + 500) });
  }
}

export async function seedUsers(client: DatastoreClient, connection: Connection, n: number, namespace = ''): Promise<void> {
  await commit(client, connection, Array.from({ length: n }, (_, i) => ({ upsert: user(connection, i, namespace) })));
}

/** Every entity of a kind, in key order. */
export async function readKind(client: DatastoreClient, connection: Connection, kind: string, namespace = ''): Promise<IEntity[]> {
  const out: IEntity[] = [];
  for await (const page of queryPages(client, connection, namespace, { kind: [{ name: kind }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] })) {
    for (const r of page.results) out.push(r.entity!);
  }
  return out;
}

/** The kind's entities as canonical lines with the partition's project/database blanked, for comparisons across databases. */
export async function kindLines(client: DatastoreClient, connection: Connection, kind: string, namespace = ''): Promise<string[]> {
  return (await readKind(client, connection, kind, namespace)).map((e) => encodeEntity(e).replaceAll(`"projectId":"${connection.projectId}"`, '"projectId":""'));
}

/** The repository root, found upward from this file (it runs from dist/ or a .build/<name>/ folder). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'examples'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

const EXAMPLE = join(repoRoot(), 'examples', 'migrations', '0001-birthday-to-string.ts');

/** A fresh migrations folder holding the example migration, plus any extra scripts. */
export async function migrationsDir(extra: Record<string, string> = {}, withExample = true): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-migrations-'));
  if (withExample) await cp(EXAMPLE, join(dir, '0001-birthday-to-string.ts'));
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  return dir;
}
