/**
 * `--import PATH` of a dspipe dump folder at start: every kind file is read
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
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Transform } from 'node:stream';
import { DspipeError } from '../errors.js';
import { decodeEntity } from '../format/entity-codec.js';
import { MANIFEST_FILE, parseManifest } from '../format/manifest.js';
import type { IEntity } from '../model/proto.js';
import { entitySize } from '../model/storage-size.js';
import { messageType } from './proto-json.js';
import { serviceDefinition } from './server.js';
import type { DatastoreService } from './service.js';

const require = createRequire(import.meta.url);
const BATCH_ENTITIES = 500;
const BATCH_BYTES = 4 * 1024 * 1024;

export interface ImportSummary {
  entities: number;
  kinds: number;
}

export async function importDump(service: DatastoreService, dir: string): Promise<ImportSummary> {
  const manifestFile = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestFile, 'utf8');
  } catch (err) {
    throw new DspipeError('DSPIPE_NOT_FOUND', `--import ${dir}: no ${MANIFEST_FILE} there`, {
      file: manifestFile,
      hint: 'name a dump folder written by dspipe dump (the one holding manifest.json)',
      cause: err,
    });
  }
  const manifest = parseManifest(text, manifestFile);
  const { projectId, databaseId } = manifest.source;
  const type = messageType('google.datastore.v1.CommitRequest');
  const commit = serviceDefinition().Commit!;
  let entities = 0;
  const flush = async (batch: IEntity[]) => {
    if (batch.length === 0) return;
    const request = type.fromObject({ projectId, databaseId, mode: 'NON_TRANSACTIONAL', mutations: batch.map((e) => ({ upsert: e })) });
    // The bytes gRPC would carry, decoded as gRPC decodes them: the service sees what a client would send.
    await service.commit(commit.requestDeserialize(Buffer.from(type.encode(request).finish())) as never);
    entities += batch.length;
  };
  for (const kind of manifest.kinds) {
    const file = path.join(dir, ...kind.file.split('/'));
    const input = open(file, manifest.compression);
    const lines = createInterface({ input, crlfDelay: Infinity });
    let batch: IEntity[] = [];
    let bytes = 0;
    let line = 0;
    try {
      for await (const text of lines) {
        line++;
        if (text === '') continue;
        const entity = decodeEntity(text, { file, line });
        batch.push(entity);
        bytes += entitySize(entity);
        if (batch.length >= BATCH_ENTITIES || bytes >= BATCH_BYTES) {
          await flush(batch);
          batch = [];
          bytes = 0;
        }
      }
      await flush(batch);
    } catch (err) {
      input.destroy();
      if (err instanceof DspipeError) throw err;
      const status = err as { code?: unknown; details?: unknown };
      const why = typeof status.code === 'number' ? String(status.details) : (err as Error).message;
      throw new DspipeError('DSPIPE_CORRUPT_DUMP', `--import: ${why}`, { file, line, kind: kind.kind, namespace: kind.namespace, cause: err });
    }
  }
  return { entities, kinds: manifest.kinds.length };
}

function open(file: string, compression: 'zstd' | 'none'): Readable {
  const raw = createReadStream(file);
  if (compression === 'none') return raw;
  const { DecompressStream } = require('zstd-napi') as { DecompressStream: new () => Transform };
  const out = raw.pipe(new DecompressStream());
  raw.on('error', (err) => out.destroy(err));
  return out;
}
