/**
 * `restore`: a dump folder (or NDJSON on stdin) back into any project,
 * database and namespace, exactly.
 *
 *   fileSource → decompressor → parser → keyRewriter → idReserver → batcher → entityWriter
 *
 * Two passes. The first verifies the whole dump — manifest, every file's size
 * and sha256, entity counts, every line decodes — and writes nothing; a
 * corrupt or incomplete dump is refused there (`dryRun` stops after it). The
 * second writes, kinds in parallel (`concurrency`), commits in parallel within
 * a kind (`writers`), re-checking each file's hash as it goes. Stdin is
 * spooled to a temporary file first so that it, too, is verified before the
 * first write while memory stays flat.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createClient, resolveConnection, type Connection, type ConnectionOptions, type DatastoreClient } from '../datastore/connection.js';
import { DspipeError } from '../errors.js';
import type { WriteOp } from '../format/batching.js';
import type { ManifestKind } from '../format/manifest.js';
import { normalizeRestoreOptions, type RestoreOptions, type RestoreOptionsInput } from '../options/restore.js';
import { loadKindOptions } from '../options/kind-options.js';
import { createBatcher } from '../stages/batcher.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createEntityWriter } from '../stages/entity-writer.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { createIdReserver } from '../stages/id-reserver.js';
import { createKeyRewriter } from '../stages/key-rewriter.js';
import { createParser } from '../stages/parser.js';
import { createEntityCounter } from '../stages/entity-counter.js';
import { createRejectsSink } from '../stages/rejects-sink.js';
import { createSelectionFilter } from '../stages/selection-filter.js';
import { runKinds } from './kind-scheduler.js';
import type { DatabaseRef } from '../format/key-rewrite.js';

export interface RestoreProgress {
  phase: 'verify' | 'write';
  namespace: string;
  kind: string;
  /** Entities done in this kind so far. */
  entities: number;
  /** Entities the kind holds (from the manifest), when known. */
  total: number | undefined;
  done: boolean;
}

export interface RestoreCommandOptions extends RestoreOptionsInput, ConnectionOptions {
  /** Use this connection instead of resolving one from the options and environment. */
  connection?: Connection;
  /** Use this client (it is not closed); by default one is created and closed. */
  client?: DatastoreClient;
  /** Where `in: '-'` reads from (default process.stdin). */
  stdin?: Readable;
  onProgress?: (progress: RestoreProgress) => void;
  signal?: AbortSignal;
}

export interface RestoredKind {
  namespace: string;
  kind: string;
  /** Namespace written to (after --namespace-map). */
  targetNamespace: string;
  entities: number;
  written: number;
  rejected: number;
  /** Encoded mutation bytes written. */
  bytes: number;
}

export interface RestoreResult {
  source: string;
  target: { projectId: string; databaseId: string };
  dryRun: boolean;
  mode: 'upsert' | 'insert';
  kinds: RestoredKind[];
  /** Entities in the (selected part of the) dump. */
  entities: number;
  written: number;
  rejected: number;
  /** Where rejected entities were written (onError 'skip' and at least one reject). */
  rejectsFile: string | undefined;
  /** Distinct keys passed to ReserveIds. */
  reservedIds: number;
  commits: number;
  retries: number;
  bytes: number;
  seconds: number;
}

/** One input to restore: a kind file of a dump, or the spooled stdin. */
interface Part {
  dir: string;
  entry: ManifestKind;
  /** Name used in errors. */
  label: string;
  /** From a manifest: size, hash and count are checked. */
  checked: boolean;
}

async function spoolStdin(stdin: Readable): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-restore-'));
  const file = 'stdin.ndjson';
  await pipeline(stdin, createWriteStream(join(dir, file)));
  return { dir, file };
}

function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function restore(input: RestoreCommandOptions): Promise<RestoreResult> {
  const started = performance.now();
  const options: RestoreOptions = normalizeRestoreOptions(input);
  const connection = input.connection ?? resolveConnection(input);
  const target: DatabaseRef = { projectId: connection.projectId, databaseId: connection.databaseId };

  let parts: Part[];
  let source: DatabaseRef | undefined;
  let sourceLabel: string;
  let spool: { dir: string; file: string } | undefined;
  let rejectsPath: string;
  if (options.source.type === 'folder') {
    const dump = await openDump(options.source.dir, options.selection);
    source = { projectId: dump.manifest.source.projectId, databaseId: dump.manifest.source.databaseId };
    sourceLabel = options.source.dir;
    parts = dump.kinds.map((entry) => ({ dir: dump.dir, entry, label: join(dump.dir, ...entry.file.split('/')), checked: true }));
    rejectsPath = options.rejects ?? join(dump.dir, 'rejects.ndjson');
    const filtered = options.selection.kinds.include.length + options.selection.kinds.exclude.length + options.selection.namespaces.include.length + options.selection.namespaces.exclude.length > 0;
    if (parts.length === 0 && filtered && dump.manifest.kinds.length > 0) {
      throw new DspipeError('DSPIPE_NOT_FOUND', 'no kind of the dump matches --kinds / --namespaces', {
        file: options.source.dir,
        hint: `the dump holds ${dump.manifest.kinds.slice(0, 5).map((k) => (k.namespace ? `${k.namespace}/${k.kind}` : k.kind)).join(', ')}${dump.manifest.kinds.length > 5 ? ', …' : ''}`,
      });
    }
  } else {
    spool = await spoolStdin(input.stdin ?? process.stdin);
    sourceLabel = '-';
    const entry: ManifestKind = { namespace: '', kind: '(stdin)', file: spool.file, entities: 0, rawBytes: 0, bytes: 0, sha256: '', complete: true };
    parts = [{ dir: spool.dir, entry, label: '(stdin)', checked: false }];
    rejectsPath = options.rejects ?? `dspipe-rejects-${timestamp()}.ndjson`;
  }
  const kindOptions = options.source.type === 'folder' ? await loadKindOptions(options.optionsFile) : { dump: {}, restore: {} };
  const progress = input.onProgress;
  const targetNamespace = (ns: string) => options.namespaceMap.get(ns) ?? ns;
  const results = new Map<Part, RestoredKind>();
  for (const part of parts) {
    results.set(part, { namespace: part.entry.namespace, kind: part.entry.kind, targetNamespace: targetNamespace(part.entry.namespace), entities: 0, written: 0, rejected: 0, bytes: 0 });
  }

  const ownClient = input.client === undefined && !options.dryRun;
  let client = input.client;
  const rejects = options.onError === 'skip' ? createRejectsSink(rejectsPath) : undefined;
  // Listened to from the start: a rejects file that fails fails the write that met it, and is reported at the end.
  const rejectsDone = rejects && finished(rejects);
  rejectsDone?.catch(() => {});
  let rejectsFile: string | undefined;
  let reservedIds = 0;
  let commits = 0;
  let retries = 0;
  try {
    // Pass 1: verify everything before the first write.
    await runKinds(parts, { concurrency: options.concurrency, signal: input.signal }, async (part, signal) => {
      const parser = createParser({ file: part.label });
      const sink = createEntityCounter();
      const report = (done: boolean) => progress?.({ phase: 'verify', namespace: part.entry.namespace, kind: part.entry.kind, entities: parser.entities, total: part.checked ? part.entry.entities : undefined, done });
      const timer = progress ? setInterval(() => report(false), 250) : undefined;
      try {
        await pipeline(createFileSource(part.dir, part.entry, { verify: part.checked }), createDecompressor({ file: part.label }), parser, sink, { signal });
      } finally {
        if (timer) clearInterval(timer);
      }
      if (part.checked && parser.entities !== part.entry.entities) {
        throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the file holds ${parser.entities} entities, the manifest says ${part.entry.entities}`, {
          file: part.label, kind: part.entry.kind, namespace: part.entry.namespace, hint: 'dump again, or restore another dump',
        });
      }
      results.get(part)!.entities = parser.entities;
      report(true);
    });

    if (!options.dryRun) {
      client ??= createClient(connection);
      const writeClient = client;
      // Pass 2: write.
      await runKinds(parts, { concurrency: options.concurrency, signal: input.signal }, async (part, signal) => {
        const result = results.get(part)!;
        const perKind = kindOptions.restore[part.entry.kind] ?? {};
        const parser = createParser({ file: part.label });
        const reserver = createIdReserver(writeClient, connection, { retry: options.retry });
        const writer = createEntityWriter(writeClient, connection, {
          writers: perKind.writers ?? options.writers,
          retry: options.retry,
          ...(rejects && { onRejected: (op: WriteOp, error: DspipeError) => rejects.add({ op, error, namespace: part.entry.namespace, kind: part.entry.kind }) }),
        });
        const report = (done: boolean) => progress?.({ phase: 'write', namespace: part.entry.namespace, kind: part.entry.kind, entities: writer.written + writer.rejected, total: result.entities, done });
        const timer = progress ? setInterval(() => report(false), 250) : undefined;
        const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [
          createFileSource(part.dir, part.entry, { verify: part.checked }),
          createDecompressor({ file: part.label }),
          parser,
        ];
        if (!part.checked) stages.push(createSelectionFilter(options.selection));
        stages.push(
          createKeyRewriter({ target, ...(source && { source }), namespaceMap: options.namespaceMap }),
          reserver,
          createBatcher({ op: options.mode, maxBytes: options.batchBytes, maxOps: Math.min(options.batchSize, perKind.batchSize ?? Infinity) }),
          writer,
        );
        try {
          await (pipeline as (...args: unknown[]) => Promise<void>)(...stages, { signal });
        } finally {
          if (timer) clearInterval(timer);
          result.written = writer.written;
          result.rejected = writer.rejected;
          result.bytes = writer.bytes;
          reservedIds += reserver.reserved;
          commits += writer.commits;
          retries += writer.retries + reserver.retries;
        }
        if (!part.checked) result.entities = writer.written + writer.rejected;
        report(true);
      });
    }
  } finally {
    if (rejects) {
      rejects.end();
      await rejectsDone;
      rejectsFile = rejects.file;
    }
    if (ownClient) await client?.close();
    if (spool) await rm(spool.dir, { recursive: true, force: true });
  }

  const kinds = [...results.values()];
  const sum = (f: (k: RestoredKind) => number) => kinds.reduce((s, k) => s + f(k), 0);
  return {
    source: sourceLabel,
    target,
    dryRun: options.dryRun,
    mode: options.mode,
    kinds,
    entities: sum((k) => k.entities),
    written: sum((k) => k.written),
    rejected: sum((k) => k.rejected),
    rejectsFile,
    reservedIds,
    commits,
    retries,
    bytes: sum((k) => k.bytes),
    seconds: (performance.now() - started) / 1000,
  };
}
