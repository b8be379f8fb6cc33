/**
 * The scripts a user would write with the high-level @google-cloud/datastore
 * client instead of dspipe: the baselines dump and restore are measured
 * against. Deliberately plain, not straw men: paging with cursors (not one
 * unbounded runQuery), awaiting the file stream's drain, one save of 500 at a
 * time as the docs' examples do.
 *
 * They are lossy where the high-level client is (integers beyond 2^53,
 * excludeFromIndexes, blobs turned into {type:'Buffer',data:[…]} by JSON),
 * so dspipe does more work per entity than they do.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Datastore, type Key } from '@google-cloud/datastore';

const PAGE = 500;

/**
 * The high-level client as a user's script makes it for an emulator: the
 * library's own channel defaults (a 64 KiB HTTP/2 window and all), not
 * dspipe's options (src/datastore/connection.ts). The universe domain is
 * given only so the library does not ask a metadata server for it first
 * (seconds of waiting off this machine), which would colour the wall clock.
 */
export function naiveDatastore(address: string, projectId: string): Datastore {
  return new Datastore({ projectId, apiEndpoint: address, universeDomain: 'googleapis.com' });
}

const SAVE_BATCH = 500;

interface NaiveLine {
  key: { namespace?: string | undefined; path: Array<string | number> };
  data: Record<string, unknown>;
}

/** Every kind, one after the other, page by page, JSON.stringify to one file. */
export async function naiveDump(ds: Datastore, kinds: readonly string[], file: string): Promise<{ entities: number; bytes: number }> {
  const out = createWriteStream(file);
  let entities = 0;
  let bytes = 0;
  for (const kind of kinds) {
    let cursor: string | undefined;
    for (;;) {
      let query = ds.createQuery(kind).limit(PAGE);
      if (cursor !== undefined) query = query.start(cursor);
      const [page, info] = await ds.runQuery(query);
      let text = '';
      for (const entity of page) {
        const key = (entity as Record<symbol, Key>)[ds.KEY]!;
        text += JSON.stringify({ key: { namespace: key.namespace, path: key.path }, data: entity }) + '\n';
      }
      entities += page.length;
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await once(out, 'drain');
      if (info.moreResults === 'NO_MORE_RESULTS' || page.length === 0) break;
      cursor = info.endCursor;
    }
  }
  out.end();
  await once(out, 'finish');
  return { entities, bytes };
}

/** The file back, line by line, `save` in fixed batches of 500, one batch at a time. */
export async function naiveRestore(ds: Datastore, file: string): Promise<{ entities: number; bytes: number }> {
  let entities = 0;
  let bytes = 0;
  let batch: Array<{ key: Key; data: Record<string, unknown> }> = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    bytes += Buffer.byteLength(line) + 1;
    const { key, data } = JSON.parse(line) as NaiveLine;
    // ids come back as strings in key.path: without ds.int they would become names.
    const path = key.path.map((p, i) => (i % 2 === 1 && typeof p === 'string' && /^\d+$/.test(p) ? ds.int(p) : p));
    batch.push({ key: ds.key(key.namespace === undefined ? { path } : { namespace: key.namespace, path }), data });
    if (batch.length === SAVE_BATCH) {
      await ds.save(batch);
      entities += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await ds.save(batch);
    entities += batch.length;
  }
  return { entities, bytes };
}
