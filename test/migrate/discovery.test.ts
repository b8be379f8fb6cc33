import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { checksumOf, discoverMigrations, selectScripts } from '../../src/migrate/discovery.js';
import { isDspipeError } from '../../src/errors.js';

test('selectScripts keeps .ts/.mts/.js/.mjs, skips declarations, dotfiles and _helpers, sorts by name', () => {
  const got = selectScripts(['0010-b.js', '0002-a.ts', 'README.md', '0003.d.ts', '_shared.ts', '.0001-hidden.ts', '0001-z.mjs', '0004-m.mts', 'x.json']);
  assert.deepEqual(got, [
    { name: '0001-z', fileName: '0001-z.mjs' },
    { name: '0002-a', fileName: '0002-a.ts' },
    { name: '0004-m', fileName: '0004-m.mts' },
    { name: '0010-b', fileName: '0010-b.js' },
  ]);
});

test('two files with one migration name are refused', () => {
  assert.throws(() => selectScripts(['0001-a.ts', '0001-a.js'], 'migrations'), (err: unknown) =>
    isDspipeError(err, 'DSPIPE_INVALID_OPTION') && /0001-a\.ts and 0001-a\.js/.test(err.message) && err.file === join('migrations', '0001-a.js'));
});

test('discoverMigrations reads checksums (sha256 of the bytes) and ignores folders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-disc-'));
  await writeFile(join(dir, '0002-second.js'), 'export const kind = "B";');
  await writeFile(join(dir, '0001-first.ts'), 'export const kind = "A";');
  await mkdir(join(dir, '0003-folder.ts'));
  const found = await discoverMigrations(dir);
  assert.deepEqual(found.map((m) => m.name), ['0001-first', '0002-second']);
  assert.equal(found[0]!.file, join(dir, '0001-first.ts'));
  assert.equal(found[0]!.checksum, createHash('sha256').update('export const kind = "A";').digest('hex'));
  assert.equal(checksumOf(Buffer.from('')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('a missing folder is DSPIPE_NOT_FOUND with a hint', async () => {
  await assert.rejects(discoverMigrations('/nonexistent/migrations'), (err: unknown) =>
    isDspipeError(err, 'DSPIPE_NOT_FOUND') && /0001-first-change\.ts/.test(err.hint ?? ''));
});
