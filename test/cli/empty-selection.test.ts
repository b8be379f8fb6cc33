/**
 * A selection that matches nothing, as a child process: a typo in --kinds
 * (or a pattern in --namespaces) is refused with exit 1, naming the kinds
 * that exist, and nothing is written or deleted; a project with no data at
 * all (the emulator's default project when --project is left out) is a
 * warning; every summary names the project it talked to.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendTraits, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { seedKind } from '../stages/seed.js';
import { seedTarget } from '../commands/dump-helpers.js';
import { readAll } from '../commands/restore-fixtures.js';
import { dspipe } from './restore-cli-helpers.js';

const traits = backendTraits();
let t: TestBackend;
let root: string;
const at = () => ['--emulator-host', t.emulatorHost, '--project', t.connection.projectId];
const count = async () => (await readAll(t.client, t.connection, [''])).length;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-cli-empty-'));
  t = await startTestBackend();
  await seedKind(seedTarget(t), '', 'User', 4);
  await seedKind(seedTarget(t), '', 'Order', 3);
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const NO_USR = /^dspipe: no kind matches "Usr" in project [\w-]+; kinds in \(default\): Order, User\n {2}hint: check the spelling/m;

test('dump, clear, schema and migrate run refuse a kind that matches nothing, naming the kinds there are', async () => {
  const before = await count();
  const cases: Array<[string[], RegExp]> = [
    [['dump', ...at(), '--root', root, '-n', 'typo', '--kinds', 'Usr'], NO_USR],
    [['dump', ...at(), '--root', root, '-n', 'typo', '--kinds', 'User,Usr'], NO_USR],
    [['clear', ...at(), '--yes', '--kinds', 'Usr'], NO_USR],
    [['schema', ...at(), '--kinds', 'Usr'], NO_USR],
    [['migrate', 'run', ...at(), '--kind', 'Usr', '--drop', 'x'], NO_USR],
    [['dump', ...at(), '--root', root, '-n', 'typo', '--kinds', 'Sess*'], /no kind matches "Sess\*"/],
  ];
  for (const [argv, message] of cases) {
    const r = await dspipe(argv);
    assert.equal(r.code, 1, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, argv.join(' '));
    assert.equal(r.stdout, '', argv.join(' '));
  }
  assert.deepEqual(await readdir(root), [], 'no dump folder was written');
  assert.equal(await count(), before, 'nothing was deleted');
});

test('a --namespaces pattern that matches no namespace names those there are', { skip: traits.listsKinds ? undefined : 'the backend lists no namespaces (Firestore emulator): only the default one is read' }, async () => {
  const r = await dspipe(['dump', ...at(), '--root', root, '-n', 'typo', '--namespaces', 'tenent-*']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /no namespace matches "tenent-\*" in project [\w-]+; its namespaces: \(default\)/);
  assert.deepEqual(await readdir(root), []);
});

test('an emulator project with no data is a warning naming the project and --project; the summary names it', async () => {
  const empty = await t.fresh();
  try {
    // What `dspipe dump --emulator-host localhost:8081` without --project does: the empty default project.
    const r = await dspipe(['dump', '--emulator-host', t.emulatorHost, '--root', root, '-n', 'empty']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: project dspipe-local holds no entities.*Name it with --project/);
    assert.match(r.stderr, /0 entities of project dspipe-local/);
    const s = await dspipe(['schema', '--emulator-host', empty.emulatorHost, '--project', empty.connection.projectId]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, new RegExp(`warning: project ${empty.connection.projectId} holds no entities`));
    assert.match(s.stdout, new RegExp(`schema of live data in project ${empty.connection.projectId}`));
  } finally {
    await empty.close();
  }
  const ok = await dspipe(['dump', ...at(), '--root', root, '-n', 'named', '--kinds', 'User']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, new RegExp(`4 entities of project ${t.connection.projectId}`));
});
