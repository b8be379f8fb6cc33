/**
 * Writing managed exports: convert (export → dump folder, dump folder →
 * export), dump --format export, lossy corners warned with the key and
 * refused under strict. Read back with dspipe's own reader here; Google's
 * importer reads them in test/backends/export-import.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catSorted } from '../helpers/google-export.js';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { convert, type ConvertEvent } from '../../src/commands/convert.js';
import { dump } from '../../src/commands/dump.js';
import { restore } from '../../src/commands/restore.js';
import { openDump } from '../../src/stages/file-source.js';
import { findExport, openExport } from '../../src/stages/export-source.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { isDspipeError } from '../../src/errors.js';
import { requestBase } from '../../src/datastore/connection.js';
import type { IEntity } from '../../src/model/proto.js';
import { FIXTURES } from '../format/export/fixtures.js';
import { writeDumpFolder } from './restore-fixtures.js';
import { lookupRaw } from '../backends/corpus.js';

let t: TestBackend;
let work: string;
before(async () => {
  t = await startTestBackend();
  work = await mkdtemp(join(tmpdir(), 'dspipe-export-write-'));
});
after(async () => {
  await t.close();
  await rm(work, { recursive: true, force: true });
});

const catLines = catSorted;

const expected = async (name: string) => (await readFile(join(FIXTURES, name, 'expected.ndjson'), 'utf8')).split('\n').filter((l) => l !== '');

test('convert: Google export → dump folder → export, every entity kept, one pointer per namespace and kind', async () => {
  const want = await expected('every-value');
  const dumpDir = join(work, 'from-export');
  const r1 = await convert({ from: join(FIXTURES, 'every-value', 'export'), out: dumpDir });
  assert.equal(r1.direction, 'export-to-dump');
  assert.equal(r1.entities, want.length);
  const opened = await openDump(dumpDir);
  assert.equal(opened.manifest.source.projectId, 'exp-fix');
  assert.deepEqual(opened.kinds.map((k) => `${k.namespace}/${k.kind}`).sort(), [
    '/Big', '/Child', '/Many', '/Name with / slash', '/Parent', '/Target', '/Value',
    'ns-two/Child', 'ns-two/Name with / slash', 'ns-two/Parent', 'ns-two/Target', 'ns-two/Value',
  ]);
  assert.deepEqual(await catLines(dumpDir), want);

  const exportDir = join(work, 'back-to-export');
  const events: ConvertEvent[] = [];
  const r2 = await convert({ from: dumpDir, out: exportDir }, { onEvent: (e) => events.push(e) });
  assert.equal(r2.direction, 'dump-to-export');
  assert.equal(r2.lossy, 0);
  assert.deepEqual(events.filter((e) => e.type === 'lossy'), []);
  const overall = await findExport(exportDir);
  assert.ok(overall?.endsWith('back-to-export.overall_export_metadata'));
  const back = await openExport(overall!);
  assert.equal(back.parts.length, 12);
  assert.ok(back.parts.every((p) => p.pointer.kind !== undefined && p.pointer.namespace !== undefined), 'one pointer per (namespace, kind)');
  const many = back.parts.find((p) => p.pointer.kind === 'Many')!;
  assert.deepEqual(many.files.map((f) => f.split('/').at(-1)), ['output-0', 'output-1'], '5,001 entities: two files');
  assert.equal(many.pointer.entities, 5001);
  assert.equal(many.pointer.bytes, (await Promise.all(many.files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0));
  assert.ok(back.parts.some((p) => p.metadataFile.includes('kind_Name%20with%20%2f%20slash')), 'a / in a kind is escaped in folder names');
  assert.deepEqual(await catLines(exportDir), want);
  // Neither side leaves temp files.
  assert.deepEqual((await readdir(work)).sort(), ['back-to-export', 'from-export']);
  await assert.rejects(convert({ from: dumpDir, out: exportDir }), (err: unknown) => isDspipeError(err, 'DSPIPE_DUMP_EXISTS'));
});

const key = (kind: string, name: string, projectId = 'lossy-app', namespaceId = '') => ({ partitionId: { projectId, databaseId: '', namespaceId }, path: [{ kind, name }] });

test('dump → export warns about lossy values with the key; strict refuses and writes nothing', async () => {
  const dumpDir = join(work, 'lossy-dump');
  const entities: IEntity[] = [
    { key: key('Fine', 'a'), properties: { n: { integerValue: '1' } } },
    { key: key('Mixed', 'm'), properties: { tags: { arrayValue: { values: [{ stringValue: 'u', excludeFromIndexes: true }, { stringValue: 'i' }] } } } },
    { key: key('Far', 'f'), properties: { ref: { keyValue: key('Other', 'o', 'another-project') } } },
  ];
  await writeDumpFolder(dumpDir, entities, { projectId: 'lossy-app', databaseId: '' });
  const events: ConvertEvent[] = [];
  const r = await convert({ from: dumpDir, out: join(work, 'lossy-export') }, { onEvent: (e) => events.push(e) });
  assert.equal(r.lossy, 2);
  const lossy = events.flatMap((e) => (e.type === 'lossy' ? [`${e.key} ${e.path} ${e.reason}`] : [])).sort();
  assert.deepEqual(lossy, ['Far("f") ref foreign-project-key', 'Mixed("m") tags array-order']);
  await rm(join(work, 'lossy-export'), { recursive: true });
  await assert.rejects(convert({ from: dumpDir, out: join(work, 'lossy-export'), strict: true }), (err: unknown) => {
    assert.ok(isDspipeError(err, 'DSPIPE_REJECTED_ENTITY'), String(err));
    assert.match(err.key ?? '', /Mixed\("m"\)|Far\("f"\)/);
    return true;
  });
  assert.equal((await readdir(work)).some((f) => f.includes('lossy-export')), false, 'nothing left behind');
});

test('dump --format export of a live database reads back as Lookup; restore --in it into another project', async () => {
  const src = await t.fresh();
  const target = await t.fresh();
  try {
    const p = src.connection.projectId;
    const entities: IEntity[] = [];
    for (let i = 1; i <= 30; i++) {
      entities.push({ key: { partitionId: { projectId: p, namespaceId: i % 3 === 0 ? 'ns-x' : '' }, path: [{ kind: i % 2 ? 'Odd' : 'Even', id: String(i) }] }, properties: { i: { integerValue: String(i) }, s: { stringValue: `v${i}`, excludeFromIndexes: true } } });
    }
    await src.client.commit({ ...requestBase(src.connection), mode: 'NON_TRANSACTIONAL', mutations: entities.map((upsert) => ({ upsert })) });
    const summary = await dump({ root: work, name: 'live-export', format: 'export', namespaces: ['(default)', 'ns-x'] }, { connection: src.connection, client: src.client });
    assert.equal(summary.dir, join(work, 'live-export'));
    assert.equal(summary.entities, 30);
    const lookedUp = [...(await lookupRaw(src.client, src.connection, entities.map((e) => e.key!))).values()].map((e) => encodeEntity(e)).sort();
    assert.deepEqual(await catLines(join(work, 'live-export')), lookedUp);
    assert.equal((await readdir(work)).some((f) => f.includes('.dspipe-dump-')), false, 'the temporary dump is gone');
    const restored = await restore({ in: join(work, 'live-export') }, { connection: target.connection, client: target.client });
    assert.equal(restored.written, 30);
    await assert.rejects(dump({ root: work, name: 'live-export', format: 'export' }, { connection: src.connection, client: src.client }), (err: unknown) => isDspipeError(err, 'DSPIPE_DUMP_EXISTS'));
  } finally {
    await src.close();
    await target.close();
  }
});
