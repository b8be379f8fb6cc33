/**
 * `startEmulator({ importFrom })` / `dspipe emulator --import DIR`: a dspipe
 * dump of the test backend's corpus (every value type, meanings, index flags,
 * three namespaces, 3,100 entities of one kind, six ~900 KB ones) is loaded
 * into a fresh dspipe emulator, and Lookup there equals Lookup on the source,
 * field by field. With a data dir, what was imported is there after a restart.
 *
 *   DSPIPE_TEST_BACKEND=legacy node --test dist/test/emulator/import.test.js   # a dump of Google's emulator
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from '../../src/commands/dump.js';
import { startEmulator } from '../../src/emulator/index.js';
import { createClient, resolveConnection } from '../../src/datastore/connection.js';
import { describeBackend, namespacesToName, startTestBackend } from '../helpers/backend.js';
import { compareLookups, corpus, CORPUS_NAMESPACES, largeKeysOf, lookupRaw, seed } from '../backends/corpus.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-import-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe(`emulator --import of a dspipe dump ${describeBackend()}`, () => {
  test('Lookup on the imported emulator equals Lookup on the source, and survives a restart with a data dir', async () => {
    const source = await startTestBackend();
    try {
      const entities = corpus(source.connection.projectId);
      await seed(source.client, source.connection, entities);
      const keys = entities.map((e) => e.key!);
      const large = largeKeysOf(entities);
      const expected = await lookupRaw(source.client, source.connection, keys, large);
      assert.equal(expected.size, entities.length);
      const namespaces = namespacesToName(CORPUS_NAMESPACES, source.name);
      await dump({ root, name: 'src', ...(namespaces && { namespaces }) }, { connection: { emulatorHost: source.emulatorHost, projectId: source.connection.projectId } });

      const dataDir = join(root, 'data');
      for (const round of ['import', 'restart'] as const) {
        const emulator = await startEmulator({ port: 0, dataDir, ...(round === 'import' && { importFrom: join(root, 'src') }) });
        if (round === 'import') assert.deepEqual(emulator.imported?.entities, entities.length);
        const connection = resolveConnection({ emulatorHost: emulator.address, projectId: source.connection.projectId }, {});
        const client = createClient(connection);
        try {
          const problems = compareLookups(expected, await lookupRaw(client, connection, keys, large));
          assert.deepEqual(problems, [], `${round}: ${problems.slice(0, 30).join('\n')}`);
        } finally {
          await client.close();
          await emulator.stop();
        }
      }
    } finally {
      await source.close();
    }
  });

  test('a folder without a manifest, or a damaged line, is refused naming the file', async () => {
    await assert.rejects(startEmulator({ port: 0, importFrom: join(root, 'nothing-here') }), /--import .*nothing-here: neither a dump \(no manifest\.json\) nor a managed export/);
    const dir = join(root, 'bad');
    await mkdir(join(dir, '(default)'), { recursive: true });
    const line = '{"key":{"partitionId":{"projectId":"p"},"path":[{"kind":"K","name":"a"}]},"properties":{"x":{"integerValue":"nope"}}}\n';
    await writeFile(join(dir, '(default)', 'K.ndjson'), line);
    const manifest = {
      format: 'dspipe-dump', formatVersion: 1, dspipeVersion: '0.1.0', source: { projectId: 'p', databaseId: '' }, readTime: null,
      startedAt: '2026-12-01T00:00:00.000000Z', finishedAt: '2026-12-01T00:00:01.000000Z', complete: true, compression: 'none',
      kinds: [{ namespace: '', kind: 'K', file: '(default)/K.ndjson', entities: 1, rawBytes: line.length, bytes: line.length, sha256: '0'.repeat(64), complete: true }],
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(startEmulator({ port: 0, importFrom: dir }), (err: Error & { file?: string; line?: number }) => {
      assert.equal(err.file, join(dir, '(default)', 'K.ndjson'));
      assert.equal(err.line, 1);
      return true;
    });
  });
});
