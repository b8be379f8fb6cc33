/**
 * Datastore's managed export format in the emulator, with issue 12's codec
 * (src/format/export/): `POST /v1/projects/P:export` and `:import` as Google's
 * legacy emulator serves them (same body fields, same Operation answer, same
 * folder layout), and `--import` of an export at start. Reading streams every
 * output file record by record through the service's own Commit in bounded
 * batches; writing streams the store's snapshot entity by entity to one
 * output file, so neither holds a whole export in memory.
 *
 *   PREFIX/NAME/NAME.overall_export_metadata
 *   PREFIX/NAME/all_namespaces/all_kinds/all_namespaces_all_kinds.export_metadata
 *   PREFIX/NAME/all_namespaces/all_kinds/output-0
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { DspipeError } from '../errors.js';
import { createKeyRewrite } from '../format/key-rewrite.js';
import { decodeEntityProto, encodeEntityProto, LogReader, LogWriter } from '../format/export/index.js';
import {
  decodeBackup,
  decodeOverallMetadata,
  encodeBackup,
  encodeOverallMetadata,
  exportName,
  OVERALL_SUFFIX,
  pointerPaths,
} from '../format/export/metadata.js';
import type { IEntity } from '../model/proto.js';
import { formatTimestamp } from '../format/timestamp.js';
import { invalidArgument } from './rpc-error.js';
import type { DatastoreService } from './service.js';
import type { EntitySink } from './import.js';

/** The `.overall_export_metadata` file `input` names: the file itself, or the only one in the folder (or its one subfolder). */
export async function findOverallMetadata(input: string): Promise<string | undefined> {
  if (input.endsWith(OVERALL_SUFFIX)) return input;
  for (const dir of [input, ...(await subfolders(input))]) {
    const found = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(OVERALL_SUFFIX));
    if (found.length === 1) return path.join(dir, found[0]!);
  }
  return undefined;
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory());
  return dirs.length === 1 ? [path.join(dir, dirs[0]!.name)] : [];
}

/** Streams every entity of the export `overallFile` names into `batcher`; returns the number read. */
export async function readManagedExport(overallFile: string, batcher: EntitySink, rewrite?: (e: IEntity) => IEntity): Promise<number> {
  const base = path.dirname(overallFile);
  const pointers = decodeOverallMetadata(await readFile(overallFile), overallFile);
  let entities = 0;
  for (const pointer of pointers) {
    const metadataFile = path.join(base, ...pointer.metadataFile.split('/'));
    const { files } = decodeBackup(await readFile(metadataFile), metadataFile);
    for (const name of files) {
      const file = path.join(path.dirname(metadataFile), ...name.split('/'));
      const reader = new LogReader(file);
      let pending: IEntity[] = [];
      const take = (record: Buffer, offset: number) => {
        const e = decodeEntityProto(record, { file, offset });
        pending.push(rewrite ? rewrite(e) : e);
      };
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        reader.push(chunk, take);
        // Each chunk's entities go before the next chunk is read: memory stays at one chunk's worth.
        for (const e of pending) await batcher.add(e);
        entities += pending.length;
        pending = [];
      }
      reader.end(take);
      for (const e of pending) await batcher.add(e);
      entities += pending.length;
    }
  }
  await batcher.flush();
  return entities;
}

/** `:import` — Google's emulator puts the entities in the project of the URL, whatever project they were exported from. */
export async function importEntities(service: DatastoreService, projectId: string, body: Record<string, unknown>): Promise<object> {
  const start = new Date();
  const inputUrl = String(body.inputUrl ?? body.input_url ?? '');
  const databaseId = String(body.databaseId ?? body.database_id ?? '');
  const overall = inputUrl === '' ? undefined : await findOverallMetadata(inputUrl);
  if (overall === undefined) throw invalidArgument(`Failed to parse overall export metadata file (input_url ${JSON.stringify(inputUrl)})`);
  const { EntityBatcher } = await import('./import.js');
  const rewrite = createKeyRewrite({ target: { projectId, databaseId } });
  try {
    await readManagedExport(overall, new EntityBatcher(service, projectId, databaseId), rewrite);
  } catch (err) {
    if (err instanceof DspipeError) throw invalidArgument(`Failed to import the export: ${err.describe()}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      throw invalidArgument(`Failed to parse overall export metadata file (${(err as Error).message})`);
    }
    throw err;
  }
  return operation('IMPORT_ENTITIES', start, { inputUrl }, { '@type': 'type.googleapis.com/google.protobuf.Empty' }, projectId);
}

/** `:export` — one pointer for every namespace and kind of the project's database, written under a new folder of the prefix. */
export async function exportEntities(service: DatastoreService, projectId: string, body: Record<string, unknown>): Promise<object> {
  const start = new Date();
  const prefix = String(body.outputUrlPrefix ?? body.output_url_prefix ?? '');
  const databaseId = String(body.databaseId ?? body.database_id ?? '');
  if (!path.isAbsolute(prefix)) throw invalidArgument(`The output_url_prefix must be an absolute path on the emulator's machine (got ${JSON.stringify(prefix)})`);
  if (await stat(prefix).then(() => true, () => false)) throw invalidArgument(`The output_url_prefix: ${prefix} already exists`);
  const name = exportName(start);
  const temp = `${prefix}.${process.pid}.tmp`;
  const { folder, metadataFile } = pointerPaths(undefined, undefined);
  await mkdir(path.join(temp, name, ...folder.split('/')), { recursive: true });

  const store = service.store;
  const db = store.database(projectId, databaseId);
  const view = store.snapshot(db, store.clock.tick());
  const out = await open(path.join(temp, name, ...folder.split('/'), 'output-0'), 'w');
  const writer = new LogWriter();
  let entities = 0;
  try {
    let chunks: Buffer[] = [];
    let size = 0;
    for (const ns of view.namespaces()) {
      for (const e of view.scan(ns, undefined)) {
        const frame = writer.frame(encodeEntityProto(e as IEntity, { project: projectId }));
        chunks.push(frame);
        size += frame.length;
        entities++;
        if (size >= 1 << 20) {
          await out.writev(chunks);
          chunks = [];
          size = 0;
        }
      }
    }
    await out.writev(chunks);
    await out.sync();
  } finally {
    await out.close();
  }
  const metadataPath = path.join(temp, name, ...metadataFile.split('/'));
  await writeFileSynced(metadataPath, encodeBackup({ name, startMicros: start.getTime() * 1000, endMicros: Date.now() * 1000, kind: '', files: ['output-0'] }));
  await writeFileSynced(
    path.join(temp, name, `${name}${OVERALL_SUFFIX}`),
    encodeOverallMetadata([{ kind: undefined, namespace: undefined, metadataFile, entities, bytes: writer.bytes }]),
  );
  await rename(temp, prefix);
  return operation('EXPORT_ENTITIES', start, { outputUrlPrefix: prefix }, {
    '@type': 'type.googleapis.com/google.datastore.admin.v1.ExportEntitiesResponse',
    outputUrl: path.join(prefix, name, `${name}${OVERALL_SUFFIX}`),
  });
}

async function writeFileSynced(file: string, bytes: Buffer): Promise<void> {
  const h = await open(file, 'w');
  try {
    await h.write(bytes);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** A finished long-running Operation, as Google's emulator answers both calls. */
function operation(type: 'EXPORT_ENTITIES' | 'IMPORT_ENTITIES', start: Date, extra: Record<string, unknown>, response: object, projectId?: string): object {
  const micros = (d: Date) => formatTimestamp(Math.floor(d.getTime() / 1000), (d.getTime() % 1000) * 1e6);
  const kind = type === 'EXPORT_ENTITIES' ? 'ExportEntitiesMetadata' : 'ImportEntitiesMetadata';
  return {
    ...(projectId !== undefined && { name: `projects/${projectId}/operations/${Date.now().toString(16)}` }),
    metadata: {
      '@type': `type.googleapis.com/google.datastore.admin.v1.${kind}`,
      common: { startTime: micros(start), endTime: micros(new Date()), operationType: type, state: 'SUCCESSFUL' },
      entityFilter: {},
      ...extra,
    },
    done: true,
    response,
  };
}

