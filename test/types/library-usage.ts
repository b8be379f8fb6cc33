// Compiled by test/types.test.ts against the package's own .d.ts ('dspipe' resolves to this
// package): every line under @ts-expect-error must be a type error, everything else must compile.
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { dump, readDump, restore, writeDump, type DatastoreClient, type DumpManifest, type IEntity, type ManifestKind } from 'dspipe';
import { createParser, createEntityReader, type EntityReader } from 'dspipe/stages';

export async function usage(client: DatastoreClient, manifest: DumpManifest, reader: EntityReader): Promise<void> {
  await restore({ name: 'n', mode: 'insert', onError: 'skip' });
  // @ts-expect-error a mistyped mode does not compile
  await restore({ name: 'n', mode: 'insrt' });
  // @ts-expect-error nor an unknown onError
  await restore({ name: 'n', onError: 'ignore' });
  await dump({ compress: 'none', format: 'export' });
  // @ts-expect-error nor an unknown compression
  await dump({ compress: 'gzip' });

  for await (const entity of readDump('_backup/n', { kinds: 'User' })) {
    const e: IEntity = entity;
    // @ts-expect-error entities are typed: no such field
    void e.nope;
  }
  await writeDump([] as IEntity[], { dir: 'out', compress: 'zstd' });

  const parser = createParser();
  for await (const entity of parser) {
    // @ts-expect-error a parser yields entities, whose key is not a string
    const k: string = entity.key;
    void k;
  }
  for await (const result of reader) void result.entity?.key;
  const kinds: ManifestKind[] = manifest.kinds;
  void kinds;
  void client.runQuery;
  await pipeline(createEntityReader(client, { projectId: 'p', databaseId: '' } as never, { namespace: '', kind: 'User' }), new Writable({ objectMode: true, write: (_c, _e, cb) => cb() }));
}
