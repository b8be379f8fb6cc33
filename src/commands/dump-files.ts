/**
 * A dump folder as plain async iterables, for code that wants entities rather
 * than streams:
 *
 *   for await (const entity of readDump('_backup/20261122', { kinds: 'User' })) …
 *   await writeDump(entitiesFromAnywhere(), { dir: '_backup/cleaned' });
 *
 * readDump is openDump + fileSource -> decompressor -> parser per kind (every
 * file's size, sha256 and line order checked as restore checks them).
 * writeDump writes what dump writes — one file per kind, serializer ->
 * compressor -> fileSink, the manifest last — so restore, cat and schema take
 * its folder like any other dump.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DspipeError } from '../errors.js';
import { assignFilePaths } from '../format/file-names.js';
import { FORMAT_NAME, FORMAT_VERSION, type DumpManifest, type ManifestKind } from '../format/manifest.js';
import { formatKey } from '../model/key-text.js';
import { compareKeys, compareUtf8 } from '../model/key-order.js';
import type { IEntity, IKey } from '../model/proto.js';
import { selection } from '../options/validate.js';
import { createCompressor } from '../stages/compressor.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createFileSink, type FileSink } from '../stages/file-sink.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { createParser } from '../stages/parser.js';
import { createSerializer, type Serializer } from '../stages/serializer.js';
import { DumpFolder, dspipeVersion } from './dump-folder.js';

export interface ReadDumpOptions {
  /** `--kinds` syntax: names, globs, `-exclusions`. */
  kinds?: string | readonly string[];
  /** `--namespaces` syntax; `(default)` is the default namespace. */
  namespaces?: string | readonly string[];
}

/** The entities of a dump folder, kind after kind in manifest order, each kind in key order. */
export async function* readDump(dir: string, options: ReadDumpOptions = {}): AsyncGenerator<IEntity, void, undefined> {
  const dump = await openDump(dir, selection(options));
  for (const entry of dump.kinds) {
    const file = join(dump.dir, ...entry.file.split('/'));
    const parser = createParser({ file, expect: { namespace: entry.namespace, kind: entry.kind } });
    const done = pipeline(createFileSource(dump.dir, entry), createDecompressor({ file, maxBytes: entry.rawBytes }), parser);
    done.catch(() => {}); // its error reaches the loop below through the parser
    try {
      for await (const entity of parser as AsyncIterable<IEntity>) yield entity;
      await done;
    } finally {
      parser.destroy();
    }
  }
}

export interface WriteDumpOptions {
  /** The dump folder to create; it must not exist yet (or be empty). */
  dir: string;
  /** Default 'zstd'. */
  compress?: 'zstd' | 'none';
  /** zstd level 1..22 (default 3). */
  level?: number;
  /** The project and database the manifest names as the source (default: those of the first entity's key). */
  source?: { projectId: string; databaseId?: string };
}

export interface WriteDumpResult {
  dir: string;
  entities: number;
  /** The manifest's kinds: file, entities, bytes, sha256. */
  kinds: ManifestKind[];
}

interface KindOut {
  namespace: string;
  kind: string;
  temp: string;
  input: PassThrough;
  serializer: Serializer;
  sink: FileSink;
  done: Promise<void>;
  last: IKey | undefined;
}

/**
 * Writes entities to a new dump folder. Entities may come in any mix of kinds
 * and namespaces, but each kind's in key order (as readDump, dump and
 * Datastore's queries give them): restore checks that order, so an entity
 * out of it is refused here, naming its key. Backpressure is kept: memory
 * stays flat however many entities come.
 */
export async function writeDump(entities: AsyncIterable<IEntity> | Iterable<IEntity>, options: WriteDumpOptions): Promise<WriteDumpResult> {
  const { dir } = options;
  const compression = options.compress ?? 'zstd';
  if (compression !== 'zstd' && compression !== 'none') throw new DspipeError('DSPIPE_INVALID_OPTION', `compress ${JSON.stringify(compression)} is not zstd or none`, { hint: "compress: 'zstd' or 'none'" });
  const existing = await stat(dir).catch(() => undefined);
  if (existing !== undefined) throw new DspipeError('DSPIPE_DUMP_EXISTS', `${dir} exists already`, { file: dir, hint: 'write to a new folder' });
  const started = new Date().toISOString();
  await mkdir(dir, { recursive: true });
  const outs = new Map<string, KindOut>();
  let first: IKey | undefined;
  let count = 0;
  try {
    for await (const entity of entities) {
      const key = entity.key;
      const namespace = key?.partitionId?.namespaceId ?? '';
      const kind = key?.path?.at(-1)?.kind;
      if (!key || !kind) throw new DspipeError('DSPIPE_INVALID_LINE', `entity ${count + 1} has no key with a kind`, { hint: 'every entity written to a dump needs its full key' });
      first ??= key;
      const id = JSON.stringify([namespace, kind]);
      let out = outs.get(id);
      if (out === undefined) {
        const input = new PassThrough({ objectMode: true, highWaterMark: 64 });
        const serializer = createSerializer();
        const temp = join(dir, `.dspipe-write-${outs.size}.tmp`);
        const sink = createFileSink(temp);
        const done = pipeline(input, serializer, createCompressor({ compression, level: options.level }), sink);
        done.catch(() => {}); // awaited below
        out = { namespace, kind, temp, input, serializer, sink, done, last: undefined };
        outs.set(id, out);
      }
      if (out.last !== undefined && compareKeys(out.last, key) >= 0) {
        throw new DspipeError('DSPIPE_INVALID_LINE', `entities of a kind must come in key order; ${formatKey(key)} comes after ${formatKey(out.last)}`, {
          namespace, kind, key: formatKey(key), hint: 'sort each kind by key (or read it with readDump / a query ordered by __key__) before writing',
        });
      }
      out.last = key;
      count++;
      if (!out.input.write(entity)) await Promise.race([new Promise((resolve) => out.input.once('drain', resolve)), out.done]);
    }
    for (const out of outs.values()) out.input.end();
    await Promise.all([...outs.values()].map((o) => o.done));

    const ordered = [...outs.values()].sort((a, b) => compareUtf8(a.namespace, b.namespace) || compareUtf8(a.kind, b.kind));
    const files = assignFilePaths(ordered, compression);
    const kinds = ordered.map((o, i): ManifestKind => ({
      namespace: o.namespace, kind: o.kind, file: files[i]!, entities: o.serializer.entities, rawBytes: o.serializer.rawBytes, bytes: o.sink.bytes, sha256: o.sink.sha256, complete: true,
    }));
    for (const [i, o] of ordered.entries()) {
      const target = join(dir, ...files[i]!.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await rename(o.temp, target);
    }
    const source = options.source ?? { projectId: first?.partitionId?.projectId ?? '', databaseId: first?.partitionId?.databaseId ?? '' };
    const manifest: DumpManifest = {
      format: FORMAT_NAME,
      formatVersion: FORMAT_VERSION,
      dspipeVersion: await dspipeVersion(),
      source: { projectId: source.projectId, databaseId: source.databaseId ?? '' },
      readTime: null,
      snapshot: false,
      snapshotReason: 'written by writeDump() from entities given to it',
      startedAt: started,
      finishedAt: new Date().toISOString(),
      complete: true,
      compression,
      kinds,
    };
    // The manifest last: a folder without one is an unfinished dump, which restore refuses.
    await new DumpFolder(dir).writeManifest(manifest);
    return { dir, entities: count, kinds };
  } catch (err) {
    for (const out of outs.values()) out.input.destroy();
    await Promise.allSettled([...outs.values()].map((o) => o.done));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
