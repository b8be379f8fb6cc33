/**
 * Makes managed exports with Google's legacy emulator (`POST /v1/projects/P:export`,
 * MANAGED-EXPORT-FORMAT.md §10) and records what Lookup returns for the same
 * keys, as sorted canonical dump lines: what `dspipe cat` of the export must
 * print. Used by test/fixtures/make-exports.ts (the committed fixtures) and by
 * the live export tests.
 */
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, resolveConnection, type Connection, type DatastoreClient } from '../../src/datastore/connection.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import type { IEntity } from '../../src/model/proto.js';
import { lookupRaw, seed } from '../backends/corpus.js';
import { PassThrough } from 'node:stream';
import { cat } from '../../src/commands/cat.js';

export interface EntityFilter {
  kinds?: string[];
  namespace_ids?: string[];
}

/** `POST :export` into a fresh folder; returns the export folder (the last one the emulator wrote, see §1's quirk). */
export async function googleExport(address: string, projectId: string, filter?: EntityFilter): Promise<string> {
  // The emulator refuses a prefix that exists already.
  const prefix = join(await mkdtemp(join(tmpdir(), 'dspipe-gexport-')), 'out');
  const res = await fetch(`http://${address}/v1/projects/${projectId}:export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ output_url_prefix: prefix, ...(filter && { entity_filter: filter }) }),
  });
  if (!res.ok) throw new Error(`export failed: HTTP ${res.status} ${await res.text()}`);
  const names = (await readdir(prefix)).sort();
  if (names.length === 0) throw new Error(`export wrote nothing under ${prefix}`);
  return join(prefix, names.at(-1)!);
}

/** `POST :import` of an overall metadata file; throws with Google's message when it refuses. */
export async function googleImport(address: string, projectId: string, overallFile: string, filter?: EntityFilter): Promise<void> {
  const res = await fetch(`http://${address}/v1/projects/${projectId}:import`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input_url: overallFile, ...(filter && { entity_filter: filter }) }),
  });
  if (!res.ok) throw new Error(`import failed: HTTP ${res.status} ${await res.text()}`);
}

export function connect(address: string, projectId: string): { connection: Connection; client: DatastoreClient } {
  const connection = resolveConnection({ emulatorHost: address, projectId }, {});
  return { connection, client: createClient(connection) };
}

const inFilter = (e: IEntity, filter?: EntityFilter): boolean =>
  (filter?.kinds === undefined || filter.kinds.includes(e.key!.path!.at(-1)!.kind!)) &&
  (filter?.namespace_ids === undefined || filter.namespace_ids.includes(e.key!.partitionId?.namespaceId ?? ''));

/** What Lookup returns for these entities' keys, as sorted canonical lines (one string, newline-ended). */
export async function lookupLines(client: DatastoreClient, connection: Connection, entities: readonly IEntity[]): Promise<string> {
  const large = new Set<string>();
  const found = await lookupRaw(client, connection, entities.map((e) => e.key!), large);
  const lines = [...found.values()].map((e) => encodeEntity(e)).sort();
  return lines.map((l) => l + '\n').join('');
}

export interface MadeExport {
  /** The export folder (holds NAME.overall_export_metadata). */
  folder: string;
  /** Sorted canonical lines of Lookup of the exported keys. */
  expected: string;
  entities: number;
}

/** Seeds `entities` into `projectId`, exports (optionally filtered) and looks the exported keys up. */
export async function makeExport(address: string, projectId: string, entities: readonly IEntity[], filter?: EntityFilter): Promise<MadeExport> {
  const { connection, client } = connect(address, projectId);
  try {
    await seed(client, connection, entities);
    const folder = await googleExport(address, projectId, filter);
    const exported = entities.filter((e) => inFilter(e, filter));
    return { folder, expected: await lookupLines(client, connection, exported), entities: exported.length };
  } finally {
    await client.close();
  }
}

/** Moves a made export to `dest/export` and writes `dest/expected.ndjson`. */
export async function keepExport(made: MadeExport, dest: string): Promise<void> {
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  await rename(made.folder, join(dest, 'export')).catch(async () => {
    const { cp } = await import('node:fs/promises');
    await cp(made.folder, join(dest, 'export'), { recursive: true });
  });
  await writeFile(join(dest, 'expected.ndjson'), made.expected);
}

/** `dspipe cat` of a path (dump or export), its lines sorted. */
export async function catSorted(path: string): Promise<string[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await cat({ paths: [path], output: out });
  return Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '').sort();
}
