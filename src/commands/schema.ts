/**
 * `schema`: what is actually stored, per namespace and kind — property paths,
 * value types with counts, indexed/unindexed, largest values.
 *
 *   live    kindEnumerator -> entityReader (one snapshot) -> schemaCollector
 *   --from  fileSource -> decompressor -> parser -> schemaCollector   (no Datastore access)
 *   --fast  the `__property__` metadata query: names and index representations, no scan, no counts
 */
import { pipeline } from 'node:stream/promises';
import { createClient, resolveConnection, type Connection, type ConnectionOptions, type DatastoreClient } from '../datastore/connection.js';
import type { IQuery, ITimestamp } from '../model/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { queryPages, serverReadTime, timestampToRfc3339 } from '../datastore/run-query.js';
import { fromValue } from '../format/entity-helper.js';
import { formatCount, SchemaAccumulator, type KindSchema } from '../format/schema.js';
import { normalizeSchemaOptions, type SchemaOptions } from '../options/schema.js';
import { matches, type Selection } from '../format/selection.js';
import { createDecompressor } from '../stages/decompressor.js';
import { createEntityReader } from '../stages/entity-reader.js';
import { createFileSource, openDump } from '../stages/file-source.js';
import { enumerateKinds } from '../stages/kind-enumerator.js';
import { createParser } from '../stages/parser.js';
import { createSchemaCollector } from '../stages/schema-collector.js';

export interface SchemaCommandOptions extends SchemaOptions, ConnectionOptions {
  connection?: Connection;
  /** Use this client (it is not closed); by default one is created and closed. */
  client?: DatastoreClient;
  /** Called as each kind starts and after each entity page / file chunk. */
  onProgress?: (progress: { namespace: string; kind: string; entities: number; done: boolean }) => void;
}

/** What `--fast` can tell: property names and the index representations Datastore keeps for them. */
export interface FastKindSchema {
  namespace: string;
  kind: string;
  /** Property name → representations (INT64 covers integers and timestamps, STRING strings and blobs, …). */
  properties: Record<string, string[]>;
}

export interface SchemaReport {
  source: 'live' | 'dump' | 'metadata';
  /** The dump folder read (source 'dump'). */
  from: string | null;
  /** RFC 3339 time the data was read at (the dump's, for dumps); null when not a snapshot. */
  readTime: string | null;
  /** Full statistics (sources 'live' and 'dump'). */
  kinds: KindSchema[];
  /** Names and representations only (source 'metadata'). */
  metadata: FastKindSchema[];
}

async function fromDump(dir: string, selection: Selection, options: SchemaCommandOptions): Promise<SchemaReport> {
  const dump = await openDump(dir, selection);
  const accumulator = new SchemaAccumulator();
  for (const entry of dump.kinds) {
    const collector = createSchemaCollector({ accumulator, namespace: entry.namespace, kind: entry.kind });
    const source = createFileSource(dir, entry);
    options.onProgress?.({ namespace: entry.namespace, kind: entry.kind, entities: 0, done: false });
    await pipeline(source, createDecompressor(), createParser({ file: source.path }), collector);
    options.onProgress?.({ namespace: entry.namespace, kind: entry.kind, entities: collector.entities, done: true });
  }
  return { source: 'dump', from: dir, readTime: dump.manifest.readTime, kinds: accumulator.result(), metadata: [] };
}

async function live(client: DatastoreClient, connection: Connection, o: ReturnType<typeof normalizeSchemaOptions>, options: SchemaCommandOptions): Promise<SchemaReport> {
  const retry = o.retry;
  const readTime: ITimestamp | undefined = o.snapshot ? await serverReadTime(client, connection, { retry }) : undefined;
  const accumulator = new SchemaAccumulator();
  for await (const { namespace, kind } of enumerateKinds(client, connection, { selection: o.selection, readTime, retry })) {
    const collector = createSchemaCollector({ accumulator, namespace, kind });
    options.onProgress?.({ namespace, kind, entities: 0, done: false });
    const reader = createEntityReader(client, connection, {
      namespace,
      kind,
      readTime,
      retry,
      onProgress: () => options.onProgress?.({ namespace, kind, entities: reader.results, done: false }),
    });
    await pipeline(reader, collector);
    options.onProgress?.({ namespace, kind, entities: collector.entities, done: true });
  }
  return { source: 'live', from: null, readTime: readTime ? timestampToRfc3339(readTime) : null, kinds: accumulator.result(), metadata: [] };
}

async function metadata(client: DatastoreClient, connection: Connection, selection: Selection, retry: RetryPolicy): Promise<SchemaReport> {
  const namespaces = new Set<string>();
  for await (const ref of enumerateKinds(client, connection, { selection, retry })) namespaces.add(ref.namespace);
  const out: FastKindSchema[] = [];
  const query: IQuery = { kind: [{ name: '__property__' }] };
  for (const namespace of namespaces) {
    const byKind = new Map<string, FastKindSchema>();
    for await (const page of queryPages(client, connection, namespace, query, { retry })) {
      for (const r of page.results) {
        const path = r.entity?.key?.path ?? [];
        const kind = path[0]?.name ?? '';
        const property = path[1]?.name ?? '';
        if (kind === '' || !matches(selection.kinds, kind)) continue;
        let entry = byKind.get(kind);
        if (entry === undefined) byKind.set(kind, (entry = { namespace, kind, properties: {} }));
        const reps = r.entity?.properties?.property_representation;
        const list = reps ? fromValue(reps) : [];
        entry.properties[property] = (Array.isArray(list) ? list : [list]).map(String);
      }
    }
    out.push(...byKind.values());
  }
  return { source: 'metadata', from: null, readTime: null, kinds: [], metadata: out };
}

/** Reports the schema of live data, of a dump (`from`), or from metadata only (`fast`). */
export async function schema(options: SchemaCommandOptions = {}): Promise<SchemaReport> {
  const o = normalizeSchemaOptions(options);
  if (o.from !== undefined) return fromDump(o.from, o.selection, options);
  const connection = options.connection ?? resolveConnection(options);
  const client = options.client ?? createClient(connection);
  try {
    if (o.fast) return await metadata(client, connection, o.selection, o.retry);
    return await live(client, connection, o, options);
  } finally {
    if (options.client === undefined) await client.close();
  }
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
