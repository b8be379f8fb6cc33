/**
 * Every command that reads a dump reads a managed export too: cat, schema
 * --from, restore --in (verify before write, selection, namespace map, ids).
 * On the committed fixtures made by Google's emulator, against the test backend.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catSorted } from '../helpers/google-export.js';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { schema } from '../../src/commands/schema.js';
import { restore } from '../../src/commands/restore.js';
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import { createKeyRewrite, parseNamespaceMap } from '../../src/format/key-rewrite.js';
import { isDspipeError } from '../../src/errors.js';
import { frameRecords, OVERALL_SUFFIX } from '../../src/format/export/index.js';
import { lookupRaw } from '../backends/corpus.js';
import { FIXTURES } from '../format/export/fixtures.js';
import { readAll } from './restore-fixtures.js';

const exportOf = (name: string) => join(FIXTURES, name, 'export');
const expectedOf = async (name: string) => (await readFile(join(FIXTURES, name, 'expected.ndjson'), 'utf8')).split('\n').filter((l) => l !== '');

let t: TestBackend;
const work: string[] = [];
before(async () => {
  t = await startTestBackend();
});
after(async () => {
  await t.close();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

const catLines = catSorted;

test('cat of an export (folder or overall file) prints what Lookup returned, entity for entity', async () => {
  for (const name of ['every-value', 'filtered']) {
    const expected = await expectedOf(name);
    assert.deepEqual((await catLines(exportOf(name))).sort(), expected);
  }
  const folder = exportOf('filtered');
  const overall = join(folder, (await readdir(folder)).find((f) => f.endsWith(OVERALL_SUFFIX))!);
  assert.deepEqual((await catLines(overall)).sort(), await expectedOf('filtered'));
});

test('schema --from an export', async () => {
  const report = await schema({ from: exportOf('every-value'), kinds: 'Value,Many' });
  assert.equal(report.source, 'export');
  const kinds = report.kinds.map((k) => `${k.namespace}/${k.kind}:${k.entities}`).sort();
  assert.deepEqual(kinds, ['/Many:5001', '/Value:2', 'ns-two/Value:2']);
});

/** The expected lines moved into the target project (and namespaces), as restore moves them. */
function moved(lines: string[], projectId: string, namespaceMap?: string): string[] {
  const rewrite = createKeyRewrite({ target: { projectId, databaseId: '' }, namespaceMap: parseNamespaceMap(namespaceMap) })!;
  return lines.map((l) => encodeEntity(rewrite(decodeEntity(l)))).sort();
}

async function lookupLines(target: TestBackend, lines: string[]): Promise<string[]> {
  const keys = lines.map((l) => decodeEntity(l).key!);
  const found = await lookupRaw(target.client, target.connection, keys);
  return [...found.values()].map((e) => encodeEntity(e)).sort();
}

test('restore --in an export: every entity, into another project, ids reserved', async () => {
  const target = await t.fresh();
  try {
    const result = await restore({ in: exportOf('every-value') }, { connection: target.connection, client: target.client });
    const expected = moved(await expectedOf('every-value'), target.connection.projectId);
    assert.equal(result.entities, expected.length);
    assert.equal(result.written, expected.length);
    assert.ok(result.reservedIds > 0, 'ids reserved');
    assert.deepEqual(await lookupLines(target, expected), expected);
  } finally {
    await target.close();
  }
});

test('restore --in an export with --kinds, --namespaces and --namespace-map', async () => {
  const target = await t.fresh();
  try {
    const all = await expectedOf('every-value');
    const result = await restore(
      { in: exportOf('every-value'), kinds: 'Value,Parent', namespaces: 'ns-two', namespaceMap: 'ns-two=moved' },
      { connection: target.connection, client: target.client },
    );
    const chosen = all.filter((l) => {
      const k = decodeEntity(l).key!;
      return k.partitionId!.namespaceId === 'ns-two' && ['Value', 'Parent'].includes(k.path!.at(-1)!.kind!);
    });
    const expected = moved(chosen, target.connection.projectId, 'ns-two=moved');
    assert.equal(result.written, expected.length);
    assert.deepEqual(await lookupLines(target, expected), expected);
    assert.equal((await readAll(target.client, target.connection, ['', 'ns-two', 'moved'])).length, expected.length, 'nothing else written');
  } finally {
    await target.close();
  }
});

async function copyExport(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-export-corrupt-'));
  work.push(dir);
  await cp(exportOf(name), join(dir, 'export'), { recursive: true });
  return join(dir, 'export');
}

const OUTPUT = 'all_namespaces/all_kinds';

const corruptions: Array<[string, (dir: string) => Promise<void>, RegExp, string]> = [
  ['a flipped byte in a record', async (dir) => {
    const f = join(dir, OUTPUT, 'output-1');
    const b = await readFile(f);
    b[b.length - 20]! ^= 0x04;
    await writeFile(f, b);
  }, /checksum mismatch/, 'output-1'],
  ['a truncated output-N', async (dir) => {
    const f = join(dir, OUTPUT, 'output-0');
    await truncate(f, 100_000);
  }, /truncated|FIRST without LAST|runs past/, 'output-0'],
  ['a missing file named in the metadata', async (dir) => {
    await rm(join(dir, OUTPUT, 'output-1'));
  }, /missing/, 'output-1'],
  ['a bad "3" version record', async (dir) => {
    const overall = join(dir, (await readdir(dir)).find((f) => f.endsWith(OVERALL_SUFFIX))!);
    const b = await readFile(overall);
    const first = frameRecords([Buffer.from('3')]).length;
    await writeFile(overall, Buffer.concat([frameRecords([Buffer.from('2')]), b.subarray(first)]));
  }, /version "2"/, OVERALL_SUFFIX],
];

for (const [what, damage, message, file] of corruptions) {
  test(`restore refuses an export with ${what} before any write, naming the file`, async () => {
    const dir = await copyExport('every-value');
    await damage(dir);
    const target = await t.fresh();
    try {
      await assert.rejects(restore({ in: dir }, { connection: target.connection, client: target.client }), (err: unknown) => {
        assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
        assert.match(err.message, message);
        assert.ok(err.file?.endsWith(file), `${err.file} names ${file}`);
        return true;
      });
      assert.equal((await readAll(target.client, target.connection, ['', 'ns-two'])).length, 0, 'the target stays empty');
      // cat refuses it too.
      await assert.rejects(catLines(dir), (err: unknown) => isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'));
    } finally {
      await target.close();
    }
  });
}
