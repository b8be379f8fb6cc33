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
 *
 * A managed export (`--in` its folder or its `.overall_export_metadata`) is
 * detected and read the same way, one part per export pointer:
 *
 *   exportReader → selectionFilter → keyRewriter → idReserver → batcher → entityWriter
 *
 * its first pass checks that every file the metadata names is there, every
 * CRC, every record and each pointer's entity count.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import { DspipeError } from '../errors.js';
import { mutationBytes, opKey, type WriteOp } from '../format/batching.js';
import type { ManifestKind } from '../format/manifest.js';
import type { KindRef } from '../stages/kind-enumerator.js';
import { normalizeRestoreOptions, type RestoreOptions, type RestoreOptionsInput } from '../options/restore.js';
import { loadKindOptions, type RestoreKindOptions } from '../options/kind-options.js';
import { createBatcher } from '../stages/batcher.js';
import { createDecompressor } from '../stages/decompressor.js';
import { CommitBudget, createEntityWriter } from '../stages/entity-writer.js';
import { createFileSource, openDump, type FileIdentity } from '../stages/file-source.js';
import { createIdReserver } from '../stages/id-reserver.js';
import { formatKey } from '../model/key-text.js';
import { createKeyRewriter } from '../stages/key-rewriter.js';
import { createParser, type KindCount } from '../stages/parser.js';
import { createWireParser } from '../stages/wire-parser.js';
import { createRawTransport, type RawTransport } from '../datastore/raw-transport.js';
import type { WireKeyRewrite } from '../format/wire/mutation.js';
import { createEntityCounter } from '../stages/entity-counter.js';
import { createRejectsSink, type RejectsSink } from '../stages/rejects-sink.js';
import { createSelectionFilter } from '../stages/selection-filter.js';
import { createExportReader, findExport, openExport, partLabel, selectedParts, type ExportPart } from '../stages/export-source.js';
import { runKinds } from './kind-scheduler.js';
import { sliceForShard, type Slice } from '../format/shard-slices.js';
import { createEntityRange } from '../stages/entity-range.js';
import { startWriteRate, type RateEvent } from './write-rate.js';
import type { WriteRateLimiter, WriteRateSummary } from '../datastore/write-rate.js';
import { withCommandContext, type CommandContext, type KindEvents, type ResolvedContext } from './context.js';
import type { DatabaseRef } from '../format/key-rewrite.js';

/** Which pass a kind event belongs to: every kind is verified first, then written. */
export type RestorePhase = 'verify' | 'write';

export type RestoreEvent =
  | { type: 'start'; source: string; target: { projectId: string; databaseId: string }; kinds: KindRef[]; dryRun: boolean }
  /** `total`: the entities the kind holds (from the manifest, or the verify pass), when known. */
  | KindEvents<{ phase: RestorePhase; entities: number; total: number | undefined }, { phase: RestorePhase; total: number | undefined }>
  /**
   * The backend refused to reserve this key's id (Google's Firestore emulator
   * refuses ids >= 3·2^51): the entity is written all the same, but Datastore
   * might allocate its id to a new entity later.
   */
  | { type: 'id-not-reserved'; namespace: string; kind: string; key: string; error: string }
  | RateEvent;

/** restore's own options; the target (`connection` or `client`), signal, retry and onEvent come in the CommandContext. */
export interface RestoreCommandOptions extends RestoreOptionsInput {
  /** Where `in: '-'` reads from (default process.stdin). */
  stdin?: Readable;
}

export type RestoreContext = CommandContext<RestoreEvent>;

/**
 * One row of the result: a kind file of a dump (or a pointer of an export).
 * NDJSON from stdin, which has no kind files, gets one row per namespace and
 * kind it is written to (after --namespace-map); `namespace` is the one the
 * lines had, or, where the map puts several into one, those joined with ","
 * (the default namespace as "(default)").
 */
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
  /** Distinct keys whose ids were reserved (ReserveIds). */
  reservedIds: number;
  /** Keys whose ids the backend refused to reserve; each was written all the same (see the `id-not-reserved` event). */
  unreservedIds: number;
  commits: number;
  retries: number;
  bytes: number;
  /** The write rate: ramp, ceiling, the rate at the end, push-backs (null for a dry run). */
  writeRate: WriteRateSummary | null;
  /** Which task of a sharded restore this was (its kinds and counts are its own share), or null. */
  shard: { index: number; count: number } | null;
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
  /** A pointer of a managed export: its files are read instead of `entry.file`. */
  export?: ExportPart;
  /** The file as the verify pass read it: the write pass refuses a file swapped or changed since. */
  identity?: FileIdentity;
  /** Sharded restore: only these lines of the file are this task's to write. */
  slice?: Slice;
  /** Stdin: its rows, per target namespace and kind (`rowKey`), filled by the verify pass. */
  rows?: Map<string, RestoredKind & { sources: Set<string> }>;
}

const rowKey = (namespace: string, kind: string) => `${namespace}\u0000${kind}`;

/** Stdin's rows from what the verify pass read: each (namespace, kind) where --namespace-map sends it. */
function stdinRows(read: KindCount[], namespaceMap: ReadonlyMap<string, string>): Map<string, RestoredKind & { sources: Set<string> }> {
  const rows = new Map<string, RestoredKind & { sources: Set<string> }>();
  for (const { namespace, kind, entities } of read) {
    const targetNamespace = namespaceMap.get(namespace) ?? namespace;
    const key = rowKey(targetNamespace, kind);
    let row = rows.get(key);
    if (row === undefined) rows.set(key, (row = { namespace, kind, targetNamespace, entities: 0, written: 0, rejected: 0, bytes: 0, sources: new Set() }));
    row.entities += entities;
    row.sources.add(namespace);
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return new Map([...rows].sort(([, a], [, b]) => byName(a.targetNamespace, b.targetNamespace) || byName(a.kind, b.kind)));
}

/** The row a written or refused op of stdin counts in: by the key it was written with. */
function stdinRow(part: Part, op: WriteOp): RestoredKind | undefined {
  const key = opKey(op);
  return part.rows?.get(rowKey(key?.partitionId?.namespaceId ?? '', key?.path?.at(-1)?.kind ?? ''));
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

/** What restore reads: the kind files of a dump folder, or stdin spooled to a temp file. */
interface Source {
  parts: Part[];
  /** The dumped database, from the manifest (stdin has none: keys keep their project). */
  database: DatabaseRef | undefined;
  label: string;
  spool: { dir: string; file: string } | undefined;
  rejectsPath: string;
  kindOptions: { restore: Record<string, RestoreKindOptions> };
}

async function openSource(o: RestoreOptions, stdin: Readable | undefined): Promise<Source> {
  if (o.source.type === 'stdin') {
    const spool = await spoolStdin(stdin ?? process.stdin);
    const entry: ManifestKind = { namespace: '', kind: '(stdin)', file: spool.file, entities: 0, rawBytes: 0, bytes: 0, sha256: '', complete: true };
    const parts = [{ dir: spool.dir, entry, label: '(stdin)', checked: false }];
    return { parts, database: undefined, label: '-', spool, rejectsPath: o.rejects ?? `dspipe-rejects-${timestamp()}.ndjson`, kindOptions: { restore: {} } };
  }
  const overall = await findExport(o.source.dir);
  if (overall !== undefined) {
    if (o.shard) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', '--shard restores dspipe dumps, not managed exports', { file: o.source.dir, hint: 'convert it first (dspipe convert EXPORT -n NAME), then restore that dump with --shard' });
    }
    const opened = await openExport(overall);
    const parts = selectedParts(opened, o.selection).map((part): Part => {
      const { namespace, kind } = partLabel(part.pointer);
      const entry: ManifestKind = { namespace, kind, file: part.pointer.metadataFile, entities: part.pointer.entities ?? 0, rawBytes: 0, bytes: 0, sha256: '', complete: true };
      return { dir: opened.folder, entry, label: part.metadataFile, checked: false, export: part };
    });
    // Keys name their own project (the export's); --kinds/--namespaces select entities as they are read.
    return { parts, database: undefined, label: o.source.dir, spool: undefined, rejectsPath: o.rejects ?? `dspipe-rejects-${timestamp()}.ndjson`, kindOptions: await loadKindOptions(o.optionsFile) };
  }
  const dump = await openDump(o.source.dir, o.selection);
  let parts: Part[] = dump.kinds.map((entry) => ({ dir: dump.dir, entry, label: join(dump.dir, ...entry.file.split('/')), checked: true }));
  if (o.shard) {
    // This task's run of the dump's entities (format/shard-slices.ts): whole kinds, and at most a slice at either end.
    const all = parts;
    parts = sliceForShard(all.map((p) => p.entry.entities), o.shard.index, o.shard.count).map((slice) => ({ ...all[slice.kind]!, slice }));
  }
  const { kinds, namespaces } = o.selection;
  const filtered = kinds.include.length + kinds.exclude.length + namespaces.include.length + namespaces.exclude.length > 0;
  if (parts.length === 0 && filtered && dump.manifest.kinds.length > 0) {
    throw new DspipeError('DSPIPE_NOT_FOUND', 'no kind of the dump matches --kinds / --namespaces', {
      file: o.source.dir,
      hint: `the dump holds ${dump.manifest.kinds.slice(0, 5).map((k) => (k.namespace ? `${k.namespace}/${k.kind}` : k.kind)).join(', ')}${dump.manifest.kinds.length > 5 ? ', …' : ''}`,
    });
  }
  return {
    parts,
    database: { projectId: dump.manifest.source.projectId, databaseId: dump.manifest.source.databaseId },
    label: o.source.dir,
    spool: undefined,
    rejectsPath: o.rejects ?? join(dump.dir, 'rejects.ndjson'),
    kindOptions: await loadKindOptions(o.optionsFile),
  };
}

/** kind-start now, kind-progress every 250 ms until stopped; `done()` sends kind-done. */
function kindEvents(ctx: ResolvedContext<RestoreEvent>, phase: RestorePhase, part: Part, total: number | undefined, entities: () => number) {
  const kind = { phase, namespace: part.entry.namespace, kind: part.entry.kind };
  ctx.emit({ type: 'kind-start', ...kind, total });
  const timer = setInterval(() => ctx.emit({ type: 'kind-progress', ...kind, entities: entities(), total }), 250);
  return {
    stop: () => clearInterval(timer),
    done: () => ctx.emit({ type: 'kind-done', ...kind, entities: entities(), total }),
  };
}

/** Pass 1 for an export pointer: every CRC and record checked, the pointer's entity count compared; nothing written. */
async function verifyExportPart(ctx: ResolvedContext<RestoreEvent>, part: Part, exp: ExportPart, o: RestoreOptions, result: RestoredKind, signal: AbortSignal): Promise<void> {
  const reader = createExportReader(exp.files);
  const filter = createSelectionFilter(o.selection);
  const events = kindEvents(ctx, 'verify', part, exp.pointer.entities, () => reader.entities);
  try {
    await pipeline(reader, filter, createEntityCounter(), { signal });
  } finally {
    events.stop();
  }
  if (exp.pointer.entities !== undefined && reader.entities !== exp.pointer.entities) {
    throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the output files hold ${reader.entities} entities, the export metadata says ${exp.pointer.entities}`, {
      file: exp.metadataFile,
      hint: 'an output file is missing or was cut short: copy the export again (gcloud storage cp -r) or make a new one',
    });
  }
  result.entities = filter.passed;
  events.done();
}

/** Pass 1 for one part: every byte hashed, every line decoded, the count checked; nothing written. */
async function verifyPart(ctx: ResolvedContext<RestoreEvent>, part: Part, o: RestoreOptions, result: RestoredKind, signal: AbortSignal, wire: boolean): Promise<void> {
  // A kind file is checked against its manifest entry; stdin is selected (as the write pass will) and counted per namespace and kind.
  const options = { file: part.label, ...(part.checked ? { expect: { namespace: part.entry.namespace, kind: part.entry.kind } } : { selection: o.selection, countKinds: true }) };
  // On the wire path every line is checked by the encoder that will write it (as strict as the codec, no entity objects).
  const parser = wire ? createWireParser({ ...options, op: 'upsert' }) : createParser(options);
  const events = kindEvents(ctx, 'verify', part, part.checked ? part.entry.entities : undefined, () => parser.entities);
  try {
    const source = createFileSource(part.dir, part.entry, { verify: part.checked });
    await pipeline(source, createDecompressor({ file: part.label, ...(part.checked && { maxBytes: part.entry.rawBytes }) }), parser, createEntityCounter(), { signal });
    if (source.identity) part.identity = source.identity;
  } finally {
    events.stop();
  }
  if (part.checked && parser.entities !== part.entry.entities) {
    throw new DspipeError('DSPIPE_CORRUPT_DUMP', `the file holds ${parser.entities} entities, the manifest says ${part.entry.entities}`, {
      file: part.label, kind: part.entry.kind, namespace: part.entry.namespace, hint: 'dump again, or restore another dump',
    });
  }
  result.entities = part.slice ? part.slice.to - part.slice.from : parser.entities;
  if (!part.checked) part.rows = stdinRows(parser.kinds, o.namespaceMap);
  events.done();
}

interface WriteTotals {
  reservedIds: number;
  /** Ids the backend refused to reserve (each reported as an `id-not-reserved` event). */
  unreservedIds: number;
  commits: number;
  retries: number;
}

/** Pass 2 for one part: keys moved, ids reserved, batched commits. */
interface WriteRun {
  ctx: ResolvedContext<RestoreEvent>;
  o: RestoreOptions;
  from: Source;
  target: DatabaseRef;
  rejects: RejectsSink | undefined;
  totals: WriteTotals;
  /** One request-size budget for every kind: the first size refusal teaches them all (BACKENDS.md, 6). */
  budget: CommitBudget;
  /** One write rate for every kind. */
  rate: WriteRateLimiter;
  /** Raw commits for the wire path; undefined keeps the object path (--transport object, or a client we cannot ride). */
  transport: RawTransport | undefined;
}

/** The key moves of key-rewrite.ts for the wire path; undefined when nothing would move. */
function wireRewrite(target: DatabaseRef, source: DatabaseRef | undefined, namespaceMap: ReadonlyMap<string, string>): WireKeyRewrite | undefined {
  if (source !== undefined && namespaceMap.size === 0 && source.projectId === target.projectId && source.databaseId === target.databaseId) return undefined;
  return { target, source, namespaceMap };
}

/** The namespace and kind a rejected entity is filed under: its dump file's, or for stdin (no manifest) its key's. */
function rejectedWhere(part: Part, op: WriteOp): { namespace: string; kind: string } {
  if (part.checked) return { namespace: part.entry.namespace, kind: part.entry.kind };
  const key = op.op === 'delete' ? op.key : op.entity?.key;
  return { namespace: key?.partitionId?.namespaceId ?? '', kind: key?.path?.at(-1)?.kind ?? '' };
}

async function writePart(run: WriteRun, part: Part, result: RestoredKind, signal: AbortSignal): Promise<void> {
  const { ctx, o, from, target, rejects, totals } = run;
  const client: DatastoreClient = ctx.client;
  const connection: Connection = ctx.connection;
  const perKind = from.kindOptions.restore[part.entry.kind] ?? {};
  // The wire path (issue 14): lines straight to Mutation bytes, ids reserved and committed raw; not for managed exports (their reader makes entities).
  const transport = !part.export ? run.transport : undefined;
  const reserver = createIdReserver(client, connection, {
    retry: ctx.retry,
    transport,
    onUnreserved: (key, error) => ctx.emit({ type: 'id-not-reserved', namespace: part.entry.namespace, kind: part.entry.kind, key: formatKey(key), error: error.message }),
  });
  const rows = part.rows;
  const writer = createEntityWriter(client, connection, {
    writers: perKind.writers ?? o.writers,
    budget: run.budget,
    rate: run.rate,
    retry: ctx.retry,
    transport,
    ...(rows && {
      onCommitted: (batch: WriteOp[]) => {
        for (const op of batch) {
          const row = stdinRow(part, op);
          if (row === undefined) continue;
          row.written++;
          row.bytes += mutationBytes(op);
        }
      },
    }),
    ...(rejects && {
      onRejected: (op: WriteOp, error: DspipeError) => {
        const row = rows && stdinRow(part, op);
        if (row) row.rejected++;
        return rejects.add({ op, error, ...rejectedWhere(part, op) });
      },
    }),
  });
  const events = kindEvents(ctx, 'write', part, result.entities, () => writer.written + writer.rejected);
  const expect = part.checked ? { expect: { namespace: part.entry.namespace, kind: part.entry.kind } } : {};
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = part.export
    ? [createExportReader(part.export.files)]
    : [
        createFileSource(part.dir, part.entry, { verify: part.checked, ...(part.identity && { expect: part.identity }) }),
        createDecompressor({ file: part.label, ...(part.checked && { maxBytes: part.entry.rawBytes }) }),
      ];
  const slice = part.slice ? [createEntityRange(part.slice.from, part.slice.to)] : [];
  if (transport) {
    stages.push(createWireParser({ file: part.label, ...expect, op: o.mode, rewrite: wireRewrite(target, from.database, o.namespaceMap), ...(!part.checked && { selection: o.selection }) }), ...slice);
  } else {
    if (!part.export) stages.push(createParser({ file: part.label, ...expect, ...(!part.checked && { selection: o.selection }) }));
    else stages.push(createSelectionFilter(o.selection));
    stages.push(...slice, createKeyRewriter({ target, ...(from.database && { source: from.database }), namespaceMap: o.namespaceMap }));
  }
  stages.push(
    reserver,
    createBatcher({ op: o.mode, maxBytes: o.batchBytes, maxOps: Math.min(o.batchSize, perKind.batchSize ?? Infinity) }),
    writer,
  );
  try {
    await (pipeline as (...args: unknown[]) => Promise<void>)(...stages, { signal });
  } finally {
    events.stop();
    result.written = writer.written;
    result.rejected = writer.rejected;
    result.bytes = writer.bytes;
    totals.reservedIds += reserver.reserved;
    totals.unreservedIds += reserver.unreserved;
    totals.commits += writer.commits;
    totals.retries += writer.retries + reserver.retries;
  }
  if (!part.checked) result.entities = writer.written + writer.rejected;
  events.done();
}

function publicRow({ sources, ...row }: RestoredKind & { sources: Set<string> }): RestoredKind {
  return sources.size > 1 ? { ...row, namespace: [...sources].map((ns) => (ns === '' ? '(default)' : ns)).join(',') } : row;
}

/** Restores a dump (or NDJSON on stdin) into the database the context names. */
export async function restore(options: RestoreCommandOptions, context: RestoreContext = {}): Promise<RestoreResult> {
  const started = performance.now();
  const o = normalizeRestoreOptions(options);
  return withCommandContext(context, async (ctx) => {
    const target: DatabaseRef = { projectId: ctx.connection.projectId, databaseId: ctx.connection.databaseId };
    const from = await openSource(o, options.stdin);
    const results = new Map<Part, RestoredKind>();
    for (const part of from.parts) {
      const { namespace, kind } = part.entry;
      results.set(part, { namespace, kind, targetNamespace: o.namespaceMap.get(namespace) ?? namespace, entities: 0, written: 0, rejected: 0, bytes: 0 });
    }
    const rejects = o.onError === 'skip' ? createRejectsSink(from.rejectsPath) : undefined;
    // Listened to from the start: a rejects file that fails fails the write that met it, and is reported at the end.
    const rejectsDone = rejects && finished(rejects);
    rejectsDone?.catch(() => {});
    const totals: WriteTotals = { reservedIds: 0, unreservedIds: 0, commits: 0, retries: 0 };
    let rejectsFile: string | undefined;
    let rate: WriteRateLimiter | undefined;
    ctx.emit({ type: 'start', source: from.label, target, kinds: from.parts.map(({ entry }) => ({ namespace: entry.namespace, kind: entry.kind })), dryRun: o.dryRun });
    try {
      const scheduler = { concurrency: o.concurrency, signal: ctx.signal };
      await runKinds(from.parts, scheduler, (part, signal) =>
        part.export ? verifyExportPart(ctx, part, part.export, o, results.get(part)!, signal) : verifyPart(ctx, part, o, results.get(part)!, signal, o.transport === 'wire'),
      );
      if (!o.dryRun) {
        // N tasks of one job share the ramp and the ceiling: each takes 1/N.
        rate = startWriteRate(o.writeRate, ctx.connection, ctx.emit, o.shard?.count ?? 1);
        const transport = o.transport === 'wire' ? createRawTransport(ctx.client, ctx.connection) : undefined;
        const run: WriteRun = { ctx, o, from, target, rejects, totals, budget: new CommitBudget(), rate, transport };
        await runKinds(from.parts, scheduler, (part, signal) => writePart(run, part, results.get(part)!, signal));
      }
    } finally {
      if (rejects) {
        rejects.end();
        await rejectsDone;
        rejectsFile = rejects.file;
      }
      if (from.spool) await rm(from.spool.dir, { recursive: true, force: true });
    }
    // stdin's one part is its rows; a part the verify pass did not reach keeps its own row
    const kinds = [...results].flatMap(([part, kind]) => (part.rows ? [...part.rows.values()].map(publicRow) : [kind]));
    const sum = (f: (k: RestoredKind) => number) => kinds.reduce((n, k) => n + f(k), 0);
    return {
      source: from.label,
      target,
      dryRun: o.dryRun,
      mode: o.mode,
      kinds,
      entities: sum((k) => k.entities),
      written: sum((k) => k.written),
      rejected: sum((k) => k.rejected),
      rejectsFile,
      ...totals,
      bytes: sum((k) => k.bytes),
      writeRate: rate?.summary() ?? null,
      shard: o.shard ? { index: o.shard.index, count: o.shard.count } : null,
      seconds: (performance.now() - started) / 1000,
    };
  });
}
