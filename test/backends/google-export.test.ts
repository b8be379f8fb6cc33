/**
 * Managed exports against Google's own exporter and importer (the legacy
 * emulator implements both to local folders), live:
 *
 * - exports Google makes of the export corpus (every value type, a ~1 MiB
 *   entity whose record spans blocks, 5,001 entities over two output files,
 *   two namespaces) and a filtered one: `dspipe cat` of each equals Lookup
 *   of the same keys, entity for entity, as canonical lines;
 * - an export dspipe writes (dump of the same corpus, then convert) imports
 *   into a fresh emulator with Google's importer, and Lookup there equals the
 *   original except the lossy corners, each of which dspipe warned about.
 *   (Into the same project id: across projects Google's importer moves the
 *   entity keys and indexed key values but leaves unindexed key values on the
 *   old project, MANAGED-EXPORT-FORMAT.md 7.2, which is not something a
 *   writer can warn about per entity; the README says so.)
 *
 * Runs once per suite run (the dspipe pass), where Google's emulators are
 * installed; the committed fixtures cover the codec everywhere else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendName, googleEmulatorsInstalled, startGoogleEmulatorProcess, type GoogleEmulatorProcess } from '../helpers/backend.js';
import { catSorted, connect, googleImport, lookupLines, makeExport, type MadeExport } from '../helpers/google-export.js';
import { exportCorpus } from '../fixtures/export-corpus.js';
import { convert, type ConvertEvent } from '../../src/commands/convert.js';
import { dump } from '../../src/commands/dump.js';
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import { formatKey } from '../../src/model/key-text.js';
import { openExport, findExport } from '../../src/stages/export-source.js';
import { readRecords } from '../../src/format/export/index.js';
import { readFile } from 'node:fs/promises';
import type { IEntity } from '../../src/model/proto.js';
import { writeDumpFolder } from '../commands/restore-fixtures.js';

const installed = googleEmulatorsInstalled();
const skip = backendName() !== 'dspipe'
  ? 'runs once, in the dspipe pass (DSPIPE_TEST_BACKEND unset or dspipe)'
  : !installed.ok ? `needs Google's legacy emulator: ${installed.why}` : undefined;

async function catLines(path: string): Promise<string> {
  return (await catSorted(path)).map((l) => l + '\n').join('');
}

describe("managed exports with Google's exporter and importer", { ...(skip && { skip }), timeout: 600_000 }, () => {
  let emulator: GoogleEmulatorProcess;
  let work: string;
  const PROJECT = 'gexp-live';
  let entities: IEntity[];
  let unfiltered: MadeExport;

  before(async () => {
    emulator = await startGoogleEmulatorProcess('legacy');
    work = await mkdtemp(join(tmpdir(), 'dspipe-gexport-live-'));
    entities = exportCorpus(PROJECT, { bigChars: 1_000_000, many: 5_001 });
    // Lossy corners for the import half: a mixed array out of order, a key into another project.
    entities.push(
      { key: { partitionId: { projectId: PROJECT }, path: [{ kind: 'Lossy', name: 'order' }] }, properties: { tags: { arrayValue: { values: [{ stringValue: 'u', excludeFromIndexes: true }, { stringValue: 'i' }] } } } },
      { key: { partitionId: { projectId: PROJECT }, path: [{ kind: 'Lossy', name: 'far' }] }, properties: { ref: { keyValue: { partitionId: { projectId: 'another-app' }, path: [{ kind: 'Far', name: 'x' }] } } } },
    );
    unfiltered = await makeExport(emulator.address, PROJECT, entities);
  });
  after(async () => {
    await emulator?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('dspipe cat of an unfiltered export equals Lookup; a ~1 MiB record spans blocks; 5,001 entities take two files', async () => {
    assert.equal(await catLines(unfiltered.folder), unfiltered.expected);
    const opened = await openExport((await findExport(unfiltered.folder))!);
    const files = opened.parts.flatMap((p) => p.files);
    assert.ok(files.length >= 2, `several output files: ${files.length}`);
    const biggest = Math.max(...(await Promise.all(files.map(async (f) => Math.max(...readRecords(await readFile(f), f).map((r) => r.length))))));
    assert.ok(biggest > 1_000_000, `a record of ${biggest} bytes`);
  });

  test('dspipe cat of a filtered export equals Lookup of the kinds it holds', async () => {
    const filtered = await makeExport(emulator.address, PROJECT, entities, { kinds: ['Value'], namespace_ids: ['ns-two'] });
    assert.equal(filtered.entities, 2);
    assert.equal(await catLines(filtered.folder), filtered.expected);
  });

  test("an export dspipe writes imports with Google's importer; Lookup equals the original but for the corners it warned about", async () => {
    const { connection, client } = connect(emulator.address, PROJECT);
    const target = PROJECT;
    const fresh = await startGoogleEmulatorProcess('legacy');
    try {
      await dump({ root: work, name: 'src', namespaces: ['(default)', 'ns-two'] }, { connection, client });
      const events: ConvertEvent[] = [];
      await convert({ from: join(work, 'src'), out: join(work, 'for-import') }, { onEvent: (e) => events.push(e) });
      const warned = new Set(events.flatMap((e) => (e.type === 'lossy' ? [`${e.key} ${e.path}`] : [])));
      // Legacy stored the mixed array indexed-first already (BACKENDS.md 11): its dump has nothing out of order left.
      assert.deepEqual([...warned].sort(), ['Lossy("far") ref']);
      await googleImport(fresh.address, target, join(work, 'for-import', 'for-import.overall_export_metadata'));

      // What a lossless import would give: the original, entity for entity.
      const want = new Map(unfiltered.expected.split('\n').filter((l) => l !== '').map((l) => {
        const e = decodeEntity(l);
        return [formatKey(e.key) + (e.key!.partitionId!.namespaceId ?? ''), e];
      }));
      const t = connect(fresh.address, target);
      try {
        const got = (await lookupLines(t.client, t.connection, [...want.values()])).split('\n').filter((l) => l !== '').map((l) => decodeEntity(l));
        assert.equal(got.length, want.size, 'every entity imported');
        const differing: string[] = [];
        for (const e of got) {
          const w = want.get(formatKey(e.key) + (e.key!.partitionId!.namespaceId ?? ''))!;
          if (encodeEntity(e) === encodeEntity(w)) continue;
          for (const name of Object.keys({ ...w.properties, ...e.properties })) {
            if (JSON.stringify(encodeEntity({ key: e.key!, properties: { [name]: e.properties![name]! } })) !== JSON.stringify(encodeEntity({ key: w.key!, properties: { [name]: w.properties![name]! } }))) {
              differing.push(`${formatKey(e.key)} ${name}`);
            }
          }
        }
        assert.ok(differing.length > 0 && differing.every((d) => warned.has(d)), `only warned values differ: ${differing.join(', ')}`);
      } finally {
        await t.client.close();
      }
      // A dump that holds a mixed array in its true order (as Firestore and dspipe keep it): warned, and regrouped by the import.
      const order = entities.find((e) => e.key!.path![0]!.name === 'order')!;
      await writeDumpFolder(join(work, 'ordered'), [order], { projectId: PROJECT, databaseId: '' });
      const orderEvents: ConvertEvent[] = [];
      await convert({ from: join(work, 'ordered'), out: join(work, 'ordered-export') }, { onEvent: (e) => orderEvents.push(e) });
      assert.deepEqual(orderEvents.flatMap((e) => (e.type === 'lossy' ? [`${e.key} ${e.path} ${e.reason}`] : [])), ['Lossy("order") tags array-order']);
      await googleImport(emulator.address, 'gexp-ordered', join(work, 'ordered-export', 'ordered-export.overall_export_metadata'));
      const o = connect(emulator.address, 'gexp-ordered');
      try {
        const [res] = await o.client.lookup({ projectId: 'gexp-ordered', keys: [{ ...order.key!, partitionId: { projectId: 'gexp-ordered' } }] });
        const tags = res.found![0]!.entity!.properties!.tags!.arrayValue!.values!.map((v: { stringValue?: string | null }) => v.stringValue);
        assert.deepEqual(tags, ['i', 'u'], 'the indexed value first, as warned');
      } finally {
        await o.client.close();
      }
    } finally {
      await client.close();
      await fresh.stop();
    }
  });
});
