/**
 * `schema`: what is actually stored, per namespace and kind — property paths,
 * value types with counts, indexed/unindexed, largest values.
 *
 *   live    kindEnumerator -> entityReader (one snapshot) -> schemaCollector
 *   --from  fileSource -> decompressor -> parser -> schemaCollector   (no Datastore access)
 *           or, for a managed export, exportReader -> selectionFilter -> schemaCollector
 *   --fast  the `__property__` metadata query: names and index representations, no scan, no counts
 */
import { pipeline } from 'node:stream/promises';
import type { IQuery, ITimestamp } from '../model/proto.js';
import { queryPages, reportedReadTime, timestampToRfc3339 } from '../datastore/run-query.js';
import { fromValue } from '../format/entity-helper.js';
import { formatCount, SchemaAccumulator, type KindSchema } from '../format/schema.js';
import { normalizeSchemaOptions, type NormalizedSchemaOptions, type SchemaOptions } from '../options/schema.js';
import { matches } from '../format/selection.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { enumerateKinds, type KindRef } from '../stages/kind-enumerator.js';
import { createParser } from '../stages/parser.js';
import { createSchemaCollector } from '../stages/schema-collector.js';
import { createExportReader, findExport, openExport, partLabel, selectedParts } from '../stages/export-source.js';
import { createSelectionFilter } from '../stages/selection-filter.js';
import { retryEvent, withCommandContext, type CommandContext, type KindEvents, type ResolvedContext, type RetryEvent, type WarningEvent } from './context.js';

export type SchemaEvent =
  | { type: 'start'; source: SchemaReport['source'] }
  /** kind-progress after each entity page (live data only). */
  | KindEvents<{ entities: number }>
  | RetryEvent
  | WarningEvent;

/** schema's own options; the database (`connection` or `client`; not needed with `from`), signal, retry and onEvent come in the CommandContext. */
export type SchemaCommandOptions = SchemaOptions;

export type SchemaContext = CommandContext<SchemaEvent>;

/** What `--fast` can tell: property names and the index representations Datastore keeps for them. */
export interface FastKindSchema {
  namespace: string;
  kind: string;
  /** Property name → representations (INT64 covers integers and timestamps, STRING strings and blobs, …). */
  properties: Record<string, string[]>;
}

export interface SchemaReport {
  source: 'live' | 'dump' | 'export' | 'metadata';
  /** The dump folder or managed export read (sources 'dump' and 'export'). */
  from: string | null;
  /** The project and database read (sources 'live' and 'metadata'); for a dump, the one it was taken from; null for a managed export (it does not record it). */
  target: { projectId: string; databaseId: string } | null;
  /** RFC 3339 time the data was read at (the dump's, for dumps); null when not a snapshot. */
  readTime: string | null;
  /** Full statistics (sources 'live' and 'dump'). */
  kinds: KindSchema[];
  /** Names and representations only (source 'metadata'). */
  metadata: FastKindSchema[];
}

type Ctx = ResolvedContext<SchemaEvent>;

const targetOf = (ctx: Ctx) => ({ projectId: ctx.connection.projectId, databaseId: ctx.connection.databaseId });

async function fromDump(ctx: Ctx, dir: string, o: NormalizedSchemaOptions): Promise<SchemaReport> {
  const dump = await openDump(dir, o.selection);
  const accumulator = new SchemaAccumulator();
  for (const entry of dump.kinds) {
    const ref = { namespace: entry.namespace, kind: entry.kind };
    const collector = createSchemaCollector({ accumulator, ...ref });
    const source = createFileSource(dir, entry);
    ctx.emit({ type: 'kind-start', ...ref });
    await pipeline(source, createDecompressor(), createParser({ file: source.path }), collector, { signal: ctx.signal });
    ctx.emit({ type: 'kind-done', ...ref, entities: collector.entities });
  }
  return { source: 'dump', from: dir, target: { projectId: dump.manifest.source.projectId, databaseId: dump.manifest.source.databaseId }, readTime: dump.manifest.readTime, kinds: accumulator.result(), metadata: [] };
}

async function fromExport(ctx: Ctx, overallFile: string, from: string, o: NormalizedSchemaOptions): Promise<SchemaReport> {
  const opened = await openExport(overallFile);
  const accumulator = new SchemaAccumulator();
  for (const part of selectedParts(opened, o.selection)) {
    const ref = partLabel(part.pointer);
    const collector = createSchemaCollector({ accumulator });
    ctx.emit({ type: 'kind-start', ...ref });
    await pipeline(createExportReader(part.files), createSelectionFilter(o.selection), collector, { signal: ctx.signal });
    ctx.emit({ type: 'kind-done', ...ref, entities: collector.entities });
  }
  return { source: 'export', from, target: null, readTime: null, kinds: accumulator.result(), metadata: [] };
}

/** The kinds to report, each retried call reported. */
async function kindsOf(ctx: Ctx, o: NormalizedSchemaOptions, readTime: ITimestamp | undefined): Promise<KindRef[]> {
  const refs: KindRef[] = [];
  const onRetry = (err: unknown, attempt: number, delayMs: number) => ctx.emit(retryEvent(err, attempt, delayMs));
  for await (const ref of enumerateKinds(ctx.client, ctx.connection, { selection: o.selection, readTime, retry: ctx.retry, onRetry, onWarning: (message) => ctx.emit({ type: 'warning', message }) })) refs.push(ref);
  return refs;
}

async function live(ctx: Ctx, o: NormalizedSchemaOptions): Promise<SchemaReport> {
  const { client, connection, retry, signal } = ctx;
  const readTime: ITimestamp | undefined = o.snapshot ? await reportedReadTime(client, connection, { retry, signal }) : undefined;
  if (o.snapshot && readTime === undefined) {
    // Google's legacy emulator reports no read time and ignores those it is sent (BACKENDS.md, 2).
    ctx.emit({ type: 'warning', message: 'this Datastore reports no read time, so the scan reads current data kind by kind rather than one snapshot' });
  }
  const accumulator = new SchemaAccumulator();
  for (const ref of await kindsOf(ctx, o, readTime)) {
    const collector = createSchemaCollector({ accumulator, ...ref });
    ctx.emit({ type: 'kind-start', ...ref });
    const reader = createEntityReader(client, connection, {
      ...ref,
      readTime,
      retry,
      onProgress: () => ctx.emit({ type: 'kind-progress', ...ref, entities: reader.results }),
      onRetry: (err, attempt, delayMs) => ctx.emit(retryEvent(err, attempt, delayMs, ref)),
    });
    await pipeline(reader, collector, { signal });
    ctx.emit({ type: 'kind-done', ...ref, entities: collector.entities });
  }
  return { source: 'live', from: null, target: targetOf(ctx), readTime: readTime ? timestampToRfc3339(readTime) : null, kinds: accumulator.result(), metadata: [] };
}

async function metadata(ctx: Ctx, o: NormalizedSchemaOptions): Promise<SchemaReport> {
  const refs = await kindsOf(ctx, o, undefined);
  const namespaces = new Set(refs.map((ref) => ref.namespace));
  const out: FastKindSchema[] = [];
  const query: IQuery = { kind: [{ name: '__property__' }] };
  for (const namespace of namespaces) {
    const byKind = new Map<string, FastKindSchema>();
    for await (const page of queryPages(ctx.client, ctx.connection, namespace, query, { retry: ctx.retry, signal: ctx.signal })) {
      for (const r of page.results) {
        const path = r.entity?.key?.path ?? [];
        const kind = path[0]?.name ?? '';
        const property = path[1]?.name ?? '';
        if (kind === '' || !matches(o.selection.kinds, kind)) continue;
        let entry = byKind.get(kind);
        if (entry === undefined) byKind.set(kind, (entry = { namespace, kind, properties: {} }));
        const reps = r.entity?.properties?.property_representation;
        const list = reps ? fromValue(reps) : [];
        entry.properties[property] = (Array.isArray(list) ? list : [list]).map(String);
      }
    }
    out.push(...byKind.values());
  }
  if (out.length === 0 && refs.length > 0) {
    // Google's Firestore emulator answers __property__ with nothing at all (BACKENDS.md, 3): say so,
    // rather than report kinds that hold entities as having no properties.
    ctx.emit({
      type: 'warning',
      message: `this Datastore lists no properties (__property__ returned nothing for ${refs.length} kind${refs.length === 1 ? '' : 's'} that exist); run schema without --fast to scan the entities instead`,
    });
  }
  return { source: 'metadata', from: null, target: targetOf(ctx), readTime: null, kinds: [], metadata: out };
}

/** Reports the schema of live data, of a dump (`from`: no Datastore access), or from metadata only (`fast`). */
export async function schema(options: SchemaCommandOptions = {}, context: SchemaContext = {}): Promise<SchemaReport> {
  const o = normalizeSchemaOptions(options);
  return withCommandContext(context, async (ctx) => {
    const from = o.from;
    const overall = from !== undefined ? await findExport(from) : undefined;
    ctx.emit({ type: 'start', source: overall !== undefined ? 'export' : from !== undefined ? 'dump' : o.fast ? 'metadata' : 'live' });
    if (overall !== undefined) return fromExport(ctx, overall, from!, o);
    if (from !== undefined) return fromDump(ctx, from, o);
    return o.fast ? metadata(ctx, o) : live(ctx, o);
  });
}

/** The `--fast` report as text. */
export function formatMetadataTable(kinds: readonly FastKindSchema[]): string {
  const lines: string[] = [];
  for (const k of kinds) {
    lines.push(`${k.namespace === '' ? '(default)' : k.namespace} / ${k.kind} — indexed properties (from __property__; no counts, unindexed properties not listed)`);
    const names = Object.keys(k.properties);
    const width = Math.max(8, ...names.map((n) => n.length));
    for (const n of names) lines.push(`  ${n.padEnd(width)}  ${k.properties[n]!.join(' · ')}`);
    lines.push('');
  }
  return lines.join('\n');
}

export { formatCount };
