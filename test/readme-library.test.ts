/**
 * The README's library example (the ts block after the "run by
 * test/readme-library.test.ts" marker) run as a user's script: 'dspipe'
 * resolved to this package, TypeScript through tsx, Datastore an emulator
 * named by DATASTORE_EMULATOR_HOST. Its outputs are checked, not just its
 * exit code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestEmulator, type TestEmulator } from './helpers/emulator.js';
import { put } from './stages/seed.js';
import { dump } from '../src/commands/dump.js';
import { readDump } from '../src/commands/dump-files.js';
import { decompress } from './commands/dump-helpers.js';
import type { IEntity } from '../src/model/proto.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx/cli');
const USERS = 30;

let t: TestEmulator;
let dir: string;
before(async () => {
  t = await startTestEmulator({ projectId: 'my-app' });
  dir = await mkdtemp(join(tmpdir(), 'dspipe-readme-lib-'));
  const users: IEntity[] = Array.from({ length: USERS }, (_, i) => ({
    key: { partitionId: { projectId: 'my-app' }, path: [{ kind: 'User', id: String(i + 1) }] },
    properties: { active: { booleanValue: i % 3 === 0 }, email: { stringValue: `u${i}@example.com` }, name: { stringValue: `user ${i}` } },
  }));
  await put(t, users);
  await dump({ root: join(dir, '_backup'), name: '20261122' }, { connection: t.connection });
  await mkdir(join(dir, 'node_modules'));
  await symlink(REPO, join(dir, 'node_modules', 'dspipe'));
});
after(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

test('the README example composing stages with pipeline(), readDump() and writeDump() runs as written', async () => {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const marker = readme.indexOf('<!-- run by test/readme-library.test.ts');
  assert.ok(marker >= 0, 'the README marks the example');
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(marker))![1]!;
  await writeFile(join(dir, 'example.mts'), block);
  const { stdout } = await run(process.execPath, [TSX, 'example.mts'], {
    cwd: dir,
    env: { ...process.env, DATASTORE_EMULATOR_HOST: t.emulator.address, GOOGLE_CLOUD_PROJECT: '', DATASTORE_PROJECT_ID: '' },
    timeout: 120_000,
  });
  assert.equal(stdout, `${USERS} users, ${USERS} read live\n`);
  const active = (await decompress(await readFile(join(dir, 'active-users.ndjson.zst')))).toString('utf8').trimEnd().split('\n');
  assert.equal(active.length, USERS / 3);
  assert.ok(active.every((line) => (JSON.parse(line) as IEntity).properties?.active?.booleanValue === true));
  const cleaned: IEntity[] = [];
  for await (const e of readDump(join(dir, '_backup', '20261122-no-email'))) cleaned.push(e);
  assert.equal(cleaned.length, USERS);
  assert.ok(cleaned.every((e) => e.properties?.email === undefined && e.properties?.name?.stringValue?.startsWith('user ')));
});
