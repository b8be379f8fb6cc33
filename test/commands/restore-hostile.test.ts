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
  key: { partitionId: { projectId: 'src', databaseId: '', namespaceId: '' }, path: [{ kind: 'Item', name: `i${i}` }] },
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
