/**
 * Restore against dump folders an attacker (or an accident) shaped: a
 * decompression bomb, a kind file that is a FIFO, a device, or a link out of
 * the folder, a file larger than its manifest entry. Each is refused quickly,
 * naming the file, without holding the input in memory and without printing
 * its bytes; nothing is written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress } from 'zstd-napi';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { restore } from '../../src/commands/restore.js';
import { isDspipeError } from '../../src/errors.js';
import { formatManifest, parseManifest } from '../../src/format/manifest.js';
import type { IEntity } from '../../src/model/proto.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { readAll, writeDumpFolder } from './restore-fixtures.js';

let t: TestBackend;
const work: string[] = [];
before(async () => {
  t = await startTestBackend();
});
after(async () => {
  await t.close();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

const entities = (n: number): IEntity[] => Array.from({ length: n }, (_, i) => ({
  key: { partitionId: { projectId: 'src', databaseId: '', namespaceId: '' }, path: [{ kind: 'Item', name: `i${String(i).padStart(4, '0')}` }] },
  properties: { n: { integerValue: String(i) } },
}));

/** A dump of 20 Items whose kind file is then replaced by `replace(path)`; the manifest's size and sha256 follow the new file when `fix` says so. */
async function hostileDump(replace: (file: string) => Promise<void>, fix = false): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-hostile-'));
  work.push(dir);
  const manifest = await writeDumpFolder(dir, entities(20), { projectId: 'src', databaseId: '' });
  const file = join(dir, ...manifest.kinds[0]!.file.split('/'));
  await rm(file);
  await replace(file);
  if (fix) {
    const bytes = await readFile(file);
    const m = parseManifest(await readFile(join(dir, 'manifest.json'), 'utf8'), 'manifest.json');
    m.kinds[0] = { ...m.kinds[0]!, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    await writeFile(join(dir, 'manifest.json'), formatManifest(m));
  }
  return { dir, file };
}

const run = (dir: string, dryRun = true) => restore({ in: dir, dryRun }, { connection: t.connection, client: t.client });

test('a zstd bomb (200 MiB of one line, sha256 right) stops past the raw size the manifest records, naming the file', async () => {
  const { dir, file } = await hostileDump((f) => writeFile(f, compress(Buffer.alloc(200 << 20, 0x7b))), true);
  const before = process.memoryUsage().rss;
  const err = await run(dir).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.equal(err.file, file);
  assert.match(err.message, /holds more than the \d+ bytes the manifest records/);
  assert.ok(process.memoryUsage().rss - before < 100 << 20, 'the bomb was not inflated in memory');
});

test('a kind file that is a link to /etc/passwd (outside the dump) is refused without printing it', async () => {
  const { dir, file } = await hostileDump((f) => symlink('/etc/passwd', f));
  const err = await run(dir).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.equal(err.file, file);
  assert.match(err.message, /link to a file outside the dump folder/);
  assert.doesNotMatch(`${err.message} ${err.hint}`, /root/);
});

test('a kind file linked to /dev/zero is refused at once', async () => {
  const { dir } = await hostileDump((f) => symlink('/dev/zero', f));
  await assert.rejects(run(dir), (e: unknown) => isDspipeError(e, 'DSPIPE_CORRUPT_DUMP') && /outside the dump folder/.test(e.message));
});

test('a kind file that is a FIFO is refused instead of waiting forever for a writer', { timeout: 20_000 }, async () => {
  const { dir, file } = await hostileDump(async (f) => void execFileSync('mkfifo', [f]));
  const err = await run(dir).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.equal(err.file, file);
  assert.match(err.message, /not a regular file \(a FIFO\)/);
});

test('a link inside the dump folder is followed; a kind file larger than its manifest entry fails before it is read through', async () => {
  const inside = await hostileDump(async (f) => {
    const bytes = compress(Buffer.from(entities(20).map((e) => `${JSON.stringify({ key: { ...e.key, partitionId: { projectId: 'src', databaseId: '', namespaceId: '' } }, properties: e.properties })}\n`).join('')));
    await writeFile(`${f}.real`, bytes);
    await symlink(`${f}.real`, f);
  }, true);
  assert.equal((await run(inside.dir)).entities, 20);

  const { dir, file } = await hostileDump((f) => writeFile(f, Buffer.alloc(32 << 20, 0x20)));
  const err = await run(dir).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.equal(err.file, file);
  assert.match(err.message, /more than the \d+ bytes the manifest says/);
  assert.equal((await readAll(t.client, t.connection, [''])).length, 0, 'nothing written');
});

test('a kind file swapped between the verify pass and the write pass is refused before anything of it is written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-swap-'));
  work.push(dir);
  const manifest = await writeDumpFolder(dir, entities(3000), { projectId: 'src', databaseId: '' });
  const other = await mkdtemp(join(tmpdir(), 'dspipe-swap-other-'));
  work.push(other);
  const swapped = entities(3000).map((e) => ({ ...e, properties: { n: { stringValue: 'swapped' } } }));
  await writeDumpFolder(other, swapped, { projectId: 'src', databaseId: '' });
  const file = manifest.kinds[0]!.file.split('/');
  let swaps = 0;
  const err = await restore({ in: dir }, {
    connection: t.connection,
    client: t.client,
    onEvent: (e) => {
      if (e.type === 'kind-start' && e.phase === 'write' && swaps++ === 0) renameSync(join(other, ...file), join(dir, ...file));
    },
  }).then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.equal(swaps, 1);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.match(err.message, /replaced or changed after it was verified/);
  assert.equal((await readAll(t.client, t.connection, [''])).length, 0, 'nothing written');
});

/** A dump of 20 Items whose kind file then holds `lines` instead, the manifest's sizes, sha256 and count made to match. */
async function dumpWithLines(edit: (lines: string[]) => string[]): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-lines-'));
  work.push(dir);
  const manifest = await writeDumpFolder(dir, entities(20), { projectId: 'src', databaseId: '' });
  const file = join(dir, ...manifest.kinds[0]!.file.split('/'));
  const lines = edit(entities(20).map((e) => encodeEntity(e)));
  const raw = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const bytes = compress(raw);
  await writeFile(file, bytes);
  manifest.kinds[0] = { ...manifest.kinds[0]!, entities: lines.length, rawBytes: raw.length, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  await writeFile(join(dir, 'manifest.json'), formatManifest(manifest));
  return { dir, file };
}

const refusal = async (dir: string) => restore({ in: dir }, { connection: t.connection, client: t.client }).then(() => assert.fail('expected a refusal'), (e: unknown) => e);

test('a line whose key is of another kind or namespace than its file is refused, naming file and line; nothing is written', async () => {
  for (const [edit, what] of [
    [(l: string[]) => { l[5] = l[5]!.replace('"kind":"Item"', '"kind":"Other"'); return l; }, /line 6: the key Other\("i0005"\) is in namespace "" kind "Other"/],
    [(l: string[]) => { l[5] = l[5]!.replace('"namespaceId":""', '"namespaceId":"tenant-x"'); return l; }, /line 6: the key .* is in namespace "tenant-x" kind "Item", but this file holds namespace "" kind "Item"/],
  ] as const) {
    const { dir, file } = await dumpWithLines(edit);
    const err = await refusal(dir);
    assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
    assert.equal(err.file, file);
    assert.equal(err.line, 6);
    assert.match(err.message, what);
  }
  assert.equal((await readAll(t.client, t.connection, ['', 'tenant-x'])).length, 0, 'nothing written');
});

test('a repeated or reordered line is refused (a dump is in key order), though sha256 and count were made to match', async () => {
  const repeated = await dumpWithLines((l) => [...l.slice(0, 10), l[9]!, ...l.slice(10)]);
  const err = await refusal(repeated.dir);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.equal(err.line, 11);
  assert.match(err.message, /does not come after the line before's .*a line is repeated or out of place/);
  const swapped = await dumpWithLines((l) => [l[1]!, l[0]!, ...l.slice(2)]);
  assert.ok(isDspipeError(await refusal(swapped.dir), 'DSPIPE_CORRUPT_DUMP'));
});

test('two manifest kinds claiming one file are refused before anything is read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-twice-'));
  work.push(dir);
  const both = [...entities(5), ...entities(5).map((e) => ({ ...e, key: { ...e.key!, path: [{ kind: 'B', name: e.key!.path![0]!.name! }] } }))];
  const manifest = await writeDumpFolder(dir, both, { projectId: 'src', databaseId: '' });
  manifest.kinds[1] = { ...manifest.kinds[0]!, kind: 'B' };
  await writeFile(join(dir, 'manifest.json'), formatManifest(manifest));
  const err = await refusal(dir);
  assert.ok(isDspipeError(err, 'DSPIPE_CORRUPT_DUMP'), String(err));
  assert.match(err.message, /kinds\[1\] claims the file "\(default\)\/Item\.ndjson\.zst", which kinds\[0\] claims too/);
});
