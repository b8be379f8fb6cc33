/**
 * Migration scripts as a project outside this repository writes them, as a
 * child process: `migrate new` writes a typed template; `import { Timestamp }
 * from 'dspipe'` works without dspipe installed there (and is the running
 * dspipe's class); `--typecheck` refuses a script with a type error naming
 * file:line before anything is written, which without it would run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { put, lookupAll, key } from '../stages/seed.js';
import { dspipe } from './restore-cli-helpers.js';

let t: TestEmulator;
let project: string;
let dir: string;
before(async () => {
  t = await startTestEmulator({ projectId: 'scripts' });
  project = await mkdtemp(join(tmpdir(), 'dspipe-migrate-project-')); // no package.json, no node_modules
  dir = join(project, 'migrations');
  await put(t, [1, 2, 3].map((i) => ({ key: key(t, '', ['User', i]), properties: { n: { integerValue: String(i) } } })));
});
after(async () => {
  await t.close();
  await rm(project, { recursive: true, force: true });
});

const at = () => ['--emulator-host', t.emulator.address, '--project', 'scripts', '--dir', dir];

test('migrate new writes a numbered, typed template that type-checks', async () => {
  const r = await dspipe(['migrate', 'new', 'first-try', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0001-first-try\.ts/);
  assert.match(await readFile(join(dir, '0001-first-try.ts'), 'utf8'), /import type \{ EntityHelper, TransformContext \} from 'dspipe';/);
  const second = await dspipe(['migrate', 'new', 'second', '--dir', dir]);
  assert.match(second.stdout, /0002-second\.ts/);
  const bad = await dspipe(['migrate', 'new', 'no spaces', '--dir', dir]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.deepEqual((await readdir(dir)).sort(), ['0001-first-try.ts', '0002-second.ts']);
  const dry = await dspipe(['migrate', 'up', ...at(), '--dry-run', '--typecheck']);
  assert.equal(dry.code, 0, dry.stderr);
  await rm(dir, { recursive: true });
});

test("a script's import from 'dspipe' is the running dspipe; --typecheck refuses a type error, naming file:line, before writing", async () => {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, '0001-stamp.ts'), [
    "import { Timestamp, type EntityHelper } from 'dspipe';",
    "export const kind = 'User';",
    'export function transform(user: EntityHelper) {',
    "  user.set('stamped', new Timestamp(Date.UTC(2026, 0, 1), 7));",
    '  return user;',
    '}',
    '',
  ].join('\n'));
  await writeFile(join(dir, '0002-typo.ts'), [
    "import type { EntityHelper } from 'dspipe';",
    "export const kind = 'User';",
    'export function transform(user: EntityHelper) {',
    "  const n: string = user.get('n');",
    "  user.set('label', n);",
    '  return user;',
    '}',
    '',
  ].join('\n'));
  const refused = await dspipe(['migrate', 'up', ...at(), '--typecheck']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /0002-typo\.ts:4:9: .*not assignable to type 'string'/);
  assert.match(refused.stderr, /nothing was run/);
  assert.doesNotMatch(refused.stderr, /^ {4}at /m);
  const untouched = await lookupAll(t, [1, 2, 3].map((i) => key(t, '', ['User', i])));
  assert.ok(untouched.every((e) => e.properties?.stamped === undefined && e.properties?.label === undefined), 'nothing written');

  // Without --typecheck the same scripts run: tsx only strips types.
  const ran = await dspipe(['migrate', 'up', ...at()]);
  assert.equal(ran.code, 0, ran.stderr);
  const after = await lookupAll(t, [1, 2, 3].map((i) => key(t, '', ['User', i])));
  for (const e of after) {
    // the microseconds survive: the script's Timestamp is dspipe's own class, not a second copy's
    assert.deepEqual(e.properties?.stamped?.timestampValue, { seconds: String(Date.UTC(2026, 0, 1) / 1000), nanos: 7000 });
    assert.equal(typeof e.properties?.label?.integerValue, 'string');
  }
});
