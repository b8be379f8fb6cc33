/**
 * Test helpers for restore/clear/demo: write a dump folder by hand (manifest +
 * zstd kind files in key order, as dump writes them) and read a whole database back.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compress } from 'zstd-napi';
import { requestBase, type Connection, type DatastoreClient } from '../../src/datastore/connection.js';
import type { IEntity, IKey } from '../../src/model/proto.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { compareKeyPaths } from '../../src/model/key-order.js';
import { kindFilePath } from '../../src/format/file-names.js';
import { formatManifest, type DumpManifest, type ManifestKind } from '../../src/format/manifest.js';

export async function writeDumpFolder(
  dir: string,
  entities: readonly IEntity[],
  source: { projectId: string; databaseId: string },
  compression: 'zstd' | 'none' = 'zstd',
): Promise<DumpManifest> {
  const groups = new Map<string, { namespace: string; kind: string; entities: IEntity[] }>();
  for (const e of entities) {
    const namespace = e.key!.partitionId?.namespaceId ?? '';
    const kind = e.key!.path!.at(-1)!.kind!;
    const id = JSON.stringify([namespace, kind]);
    if (!groups.has(id)) groups.set(id, { namespace, kind, entities: [] });
    groups.get(id)!.entities.push(e);
  }
  const kinds: ManifestKind[] = [];
  for (const { namespace, kind, entities: group } of groups.values()) {
    // In key order, as dump writes them (restore refuses lines out of order).
    const lines = [...group].sort((a, b) => compareKeyPaths(a.key!, b.key!)).map((e) => encodeEntity(e));
    const file = kindFilePath(namespace, kind, compression);
    const raw = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    const bytes = compression === 'zstd' ? compress(raw) : raw;
    await mkdir(join(dir, ...file.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(dir, ...file.split('/')), bytes);
    kinds.push({ namespace, kind, file, entities: lines.length, rawBytes: raw.length, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), complete: true });
  }
  const now = new Date().toISOString();
  const manifest: DumpManifest = {
    format: 'dspipe-dump', formatVersion: 1, dspipeVersion: '0.1.0', source, readTime: now, startedAt: now, finishedAt: now,
    complete: true, compression, kinds,
  };
  await writeFile(join(dir, 'manifest.json'), formatManifest(manifest));
  return manifest;
}

/**
 * Every entity of the database (all namespaces, all kinds), via a kindless
 * query per namespace. Namespaces come from `__namespace__`; where the backend
 * refuses that query (Google's Firestore emulator, BACKENDS.md 3) from
 * `namespaces`, which such a caller must give (the ones it wrote to).
 */
export async function readAll(client: DatastoreClient, connection: Connection, namespaces?: readonly string[]): Promise<IEntity[]> {
  const out: IEntity[] = [];
  for (const ns of await namespacesOf(client, connection, namespaces)) {
    let cursor: Buffer | Uint8Array | undefined;
    for (;;) {
      const [res] = await client.runQuery({
        ...requestBase(connection),
        partitionId: { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: ns },
        query: { ...(cursor && { startCursor: cursor }) },
      });
      for (const r of res.batch?.entityResults ?? []) {
        const kind = r.entity!.key!.path!.at(-1)!.kind!;
        if (!/^__.*__$/.test(kind)) out.push(r.entity!);
      }
      if (res.batch?.moreResults !== 'NOT_FINISHED') break;
      cursor = res.batch.endCursor as Buffer;
    }
  }
  return out;
}

async function namespacesOf(client: DatastoreClient, connection: Connection, given: readonly string[] | undefined): Promise<string[]> {
  try {
    const [res] = await client.runQuery({ ...requestBase(connection), partitionId: { projectId: connection.projectId, databaseId: connection.databaseId, namespaceId: '' }, query: { kind: [{ name: '__namespace__' }] } });
    const names: string[] = [];
    for (const r of res.batch?.entityResults ?? []) names.push(r.entity!.key!.path!.at(-1)!.name ?? '');
    return names;
  } catch (err) {
    if ((err as { code?: number }).code !== 3 || given === undefined) throw err;
    return [...new Set(given)];
  }
}

export const keysOf = (entities: readonly IEntity[]): IKey[] => entities.map((e) => e.key!);
