/** readDump() and writeDump(): a dump as entities and back, restorable; bad input refused naming the key, nothing left. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { seedKind } from '../stages/seed.js';
import { dump } from '../../src/commands/dump.js';
import { restore } from '../../src/commands/restore.js';
import { readDump, writeDump } from '../../src/commands/dump-files.js';
import { isDspipeError } from '../../src/errors.js';
import { encodeEntity } from '../../src/format/entity-codec.js';
import { readAll } from './restore-fixtures.js';
import type { IEntity } from '../../src/model/proto.js';

let t: TestEmulator;
let root: string;
let seeded: IEntity[];
before(async () => {
  t = await startTestEmulator({ projectId: 'files' });
  root = await mkdtemp(join(tmpdir(), 'dspipe-dump-files-'));
  seeded = [...(await seedKind(t, '', 'User', 40)), ...(await seedKind(t, 'tenant-a', 'Order', 15))];
  await dump({ root, name: 'd' }, { connection: t.connection });
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const all = async (it: AsyncIterable<IEntity>) => {
  const out: IEntity[] = [];
  for await (const e of it) out.push(e);
  return out;
};
const lines = (es: IEntity[]) => es.map((e) => encodeEntity(e)).sort();

test('readDump yields every entity of the dump; kinds and namespaces select', async () => {
  assert.deepEqual(lines(await all(readDump(join(root, 'd')))), lines(seeded));
  assert.equal((await all(readDump(join(root, 'd'), { kinds: 'Order' }))).length, 15);
  assert.equal((await all(readDump(join(root, 'd'), { namespaces: '(default)' }))).length, 40);
  await assert.rejects(all(readDump(join(root, 'missing'))), (err: unknown) => isDspipeError(err, 'DSPIPE_NOT_FOUND'));
});

test('writeDump writes a dump that reads back and restores equal to the source', async () => {
  for (const compress of ['zstd', 'none'] as const) {
    const dir = join(root, `w-${compress}`);
    const result = await writeDump(readDump(join(root, 'd')), { dir, compress });
    assert.equal(result.entities, seeded.length);
    assert.deepEqual(result.kinds.map((k) => [k.namespace, k.kind, k.entities]), [['', 'User', 40], ['tenant-a', 'Order', 15]]);
    assert.deepEqual(lines(await all(readDump(dir))), lines(seeded));
    await restore({ in: dir }, { connection: { ...t.connection, projectId: `copy-${compress}` } });
    const copy = await readAll(t.client, { ...t.connection, projectId: `copy-${compress}` }, ['', 'tenant-a']);
    assert.equal(copy.length, seeded.length);
  }
});

test('writeDump refuses a kind out of key order naming the key, and an existing folder; nothing is left behind', async () => {
  const dir = join(root, 'w-bad');
  const reversed = (await all(readDump(join(root, 'd'), { kinds: 'User' }))).reverse();
  await assert.rejects(writeDump(reversed, { dir }), (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_LINE') && err.kind === 'User' && /key order/.test(err.message) && err.key !== undefined);
  assert.equal(existsSync(dir), false);
  await assert.rejects(writeDump([], { dir: join(root, 'd') }), (err: unknown) => isDspipeError(err, 'DSPIPE_DUMP_EXISTS'));
  assert.ok(existsSync(join(root, 'd', 'manifest.json')), 'the existing dump is untouched');
});
