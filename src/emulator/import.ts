/**
 * `--import PATH` at start: a dspipe dump folder, or a managed export
 * (managed-export.ts). For a dump, every kind file is read
 * as a stream (zstd or plain NDJSON), decoded with the dump codec and written
 * through the service's own Commit in batches, each awaited before more is
 * read, so memory stays bounded by one batch whatever the dump's size (the
 * failure reported against Google's emulator: out of memory on a 125 MB
 * export). Entities keep their keys, so they land in the project and
 * database they were dumped from; with --data-dir each batch is durable
 * before the next.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { DspipeError } from '../errors.js';
import { decodeEntity } from '../format/entity-codec.js';
import { MANIFEST_FILE, parseManifest } from '../format/manifest.js';
import { zstdDecompressed } from '../format/zstd.js';
import type { IEntity } from '../model/proto.js';
import { entitySize } from '../model/storage-size.js';
import { messageType } from './proto-json.js';
import { serviceDefinition } from './server.js';
import type { DatastoreService } from './service.js';

const BATCH_ENTITIES = 500;
const BATCH_BYTES = 4 * 1024 * 1024;

export interface ImportSummary {
  entities: number;
  /** 'dump' or 'managed export'. */
  format: string;
}

/** Where imported entities go. */
export interface EntitySink {
  add(entity: IEntity): Promise<void>;
  flush(): Promise<void>;
}

/**
 * Entities into the service's own Commit, in NON_TRANSACTIONAL upserts of
 * at most 500 entities or 4 MiB, each awaited (durable, with a data dir)
 * before more are taken.
 */
export class EntityBatcher implements EntitySink {
  private batch: IEntity[] = [];
  private bytes = 0;
  private readonly type = messageType('google.datastore.v1.CommitRequest');
  private readonly commit = serviceDefinition().Commit!;
  written = 0;

  constructor(
    private readonly service: DatastoreService,
    private readonly projectId: string,
    private readonly databaseId: string,
  ) {}

  async add(entity: IEntity): Promise<void> {
    this.batch.push(entity);
    this.bytes += entitySize(entity);
    if (this.batch.length >= BATCH_ENTITIES || this.bytes >= BATCH_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.bytes = 0;
    const request = this.type.fromObject({ projectId: this.projectId, databaseId: this.databaseId, mode: 'NON_TRANSACTIONAL', mutations: batch.map((e) => ({ upsert: e })) });
    // The bytes gRPC would carry, decoded as gRPC decodes them: the service sees what a client would send.
    await this.service.commit(this.commit.requestDeserialize(Buffer.from(this.type.encode(request).finish())) as never);
    this.written += batch.length;
  }
}

/** Loads a dspipe dump folder or a managed export (its folder or its .overall_export_metadata file). */
export async function importFrom(service: DatastoreService, input: string): Promise<ImportSummary> {
  const manifestFile = path.join(input, MANIFEST_FILE);
  const isDump = await readFile(manifestFile, 'utf8').then(() => true, () => false);
  if (!isDump) {
    const { findOverallMetadata, readManagedExport } = await import('./managed-export.js');
    const overall = await findOverallMetadata(input);
    if (overall === undefined) {
      throw new DspipeError('DSPIPE_NOT_FOUND', `--import ${input}: neither a dump (no ${MANIFEST_FILE}) nor a managed export (no .overall_export_metadata)`, {
        file: input,
        hint: 'name a dump folder written by dspipe dump, or a managed export folder (gcloud datastore export) or its .overall_export_metadata file',
      });
    }
    // Entities keep the project their keys name (the export's); the database is the default one.
    const batcher = new ProjectBatchers(service);
    const entities = await readManagedExport(overall, batcher);
    return { entities, format: 'managed export' };
  }
  return { entities: await importDump(service, input), format: 'dump' };
}

/** One batcher per project, for exports whose keys name their project. */
class ProjectBatchers implements EntitySink {
  private readonly byProject = new Map<string, EntityBatcher>();
  constructor(private readonly service: DatastoreService) {}
  async add(entity: IEntity): Promise<void> {
    const project = entity.key?.partitionId?.projectId ?? '';
    let b = this.byProject.get(project);
    if (b === undefined) this.byProject.set(project, (b = new EntityBatcher(this.service, project, '')));
    await b.add(entity);
  }
  async flush(): Promise<void> {
    for (const b of this.byProject.values()) await b.flush();
  }
}

async function importDump(service: DatastoreService, dir: string): Promise<number> {
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const manifest = parseManifest(await readFile(manifestFile, 'utf8'), manifestFile);
  const { projectId, databaseId } = manifest.source;
  const batcher = new EntityBatcher(service, projectId, databaseId);
  for (const kind of manifest.kinds) {
    const file = path.join(dir, ...kind.file.split('/'));
    const input = open(file, manifest.compression);
    const lines = createInterface({ input, crlfDelay: Infinity });
    let line = 0;
    try {
      for await (const text of lines) {
        line++;
        if (text === '') continue;
        await batcher.add(decodeEntity(text, { file, line }));
      }
      await batcher.flush();
    } catch (err) {
      input.destroy();
      if (err instanceof DspipeError) throw err;
      const status = err as { code?: unknown; details?: unknown };
      const why = typeof status.code === 'number' ? String(status.details) : (err as Error).message;
      throw new DspipeError('DSPIPE_CORRUPT_DUMP', `--import: ${why}`, { file, line, kind: kind.kind, namespace: kind.namespace, cause: err });
    }
  }
  return batcher.written;
}

function open(file: string, compression: 'zstd' | 'none'): Readable {
  const raw = createReadStream(file);
  if (compression === 'none') return raw;
  return Readable.from(zstdDecompressed(raw));
}
