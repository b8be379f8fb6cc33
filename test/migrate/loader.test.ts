import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nodeModule from 'node:module';
import { loadMigration, moduleRegister, readMigrationModule } from '../../src/migrate/loader.js';
import { EntityHelper } from '../../src/format/entity-helper.js';
import { isDspipeError } from '../../src/errors.js';

const fn = () => undefined;
const bad = (mod: Record<string, unknown>, re: RegExp) =>
  assert.throws(() => readMigrationModule(mod, 'm', '/m.ts'), (err: unknown) => isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && re.test(err.message) && err.file === '/m.ts');

test('module exports: validation', () => {
  bad({ kind: 'User' }, /no transform function/);
  bad({ transform: fn }, /no kind/);
  bad({ kinds: [], transform: fn }, /no kind/);
  bad({ kinds: ['A', 3], transform: fn }, /no kind/);
  bad({ kind: '__kind__', transform: fn }, /reserved kind "__kind__"/);
  bad({ kind: 'A', description: 5, transform: fn }, /description that is not a string/);
  bad({ kind: 'A', namespaces: 5, transform: fn }, /namespaces/);
});

test('module exports: named, kinds list, or default object', () => {
  assert.deepEqual(readMigrationModule({ kind: 'User', transform: fn }, 'm', '/m.ts'), { name: 'm', file: '/m.ts', kinds: ['User'], description: '', namespaces: undefined, transform: fn });
  assert.deepEqual(readMigrationModule({ kinds: ['A', 'B'], description: 'd', namespaces: 'x-*', transform: fn }, 'm', '/m.ts').kinds, ['A', 'B']);
  assert.equal(readMigrationModule({ default: { kind: 'A', description: 'def', transform: fn } }, 'm', '/m.ts').description, 'def');
});

test('loads TypeScript through tsx and JavaScript through import(); a new version is loaded afresh', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-load-'));
  const ts = join(dir, '0001-a.ts');
  await writeFile(ts, `import type { EntityHelper } from 'dspipe';
interface Shape { n: number }
export const kind: string = 'User';
export const description = 'typed';
export function transform(e: EntityHelper): EntityHelper { const s: Shape = { n: 1 }; return e.set('n', BigInt(s.n)); }`);
  const m = await loadMigration('0001-a', ts, 'v1');
  assert.equal(m.description, 'typed');
  const out = (await m.transform(new EntityHelper({ properties: {} }), { namespace: '', kind: 'User', version: '1' })) as EntityHelper;
  assert.equal(out.get('n'), 1n);

  const js = join(dir, '0002-b.mjs');
  await writeFile(js, "export const kind = 'User'; export const description = 'one'; export const transform = () => null;");
  assert.equal((await loadMigration('0002-b', js, 'a')).description, 'one');
  await writeFile(js, "export const kind = 'User'; export const description = 'two'; export const transform = () => null;");
  assert.equal((await loadMigration('0002-b', js, 'b')).description, 'two');
});

test('a script that fails to import names the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-load-'));
  const js = join(dir, '0001-x.js');
  await writeFile(js, "throw new Error('import-time failure');");
  await assert.rejects(loadMigration('0001-x', js), (err: unknown) =>
    isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && err.file === js && /import-time failure/.test(err.message));
});

// Node 20.0–20.5 have no module.register(): the loader must not import it by name
// (that would break every command there) and a migration run is refused in one line.
test('node:module without register(): migrations refused naming Node 20.6, not a crash', () => {
  assert.equal(moduleRegister(nodeModule), (nodeModule as unknown as { register: unknown }).register);
  assert.throws(
    () => moduleRegister({}),
    (err: unknown) =>
      isDspipeError(err, 'DSPIPE_MIGRATION_FAILED') && /Node 20\.6 or later/.test(err.message) && err.message.includes(process.version) && /upgrade Node/.test(err.hint ?? ''),
  );
});
