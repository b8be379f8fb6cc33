/** A dump root that cannot be created (a read-only parent, a file in the way) is one clear message, never a stack. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBackend, type TestBackend } from '../helpers/backend.js';
import { dspipe } from './restore-cli-helpers.js';

let t: TestBackend;
let work: string;
before(async () => {
  t = await startTestBackend();
  work = await mkdtemp(join(tmpdir(), 'dspipe-root-'));
});
after(async () => {
  await t.close();
  await rm(work, { recursive: true, force: true });
});

const dumpTo = (root: string) => dspipe(['dump', '--emulator-host', t.emulatorHost, '--project', t.connection.projectId, '--namespaces', '(default)', '--root', root, '-n', 'x']);

// /sys refuses new entries even to root, as a read-only mount would.
test('dump under a read-only parent: the folder named, what to check, no stack', async () => {
  const r = await dumpTo('/sys/dspipe-test/_backup');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /dspipe: \/sys\/dspipe-test\/_backup\/x: cannot create the dump folder: (EPERM|EROFS|EACCES)/);
  assert.match(r.stderr, /hint: check that the dump root exists and is writable \(--root\)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack');
});

test('dump under a file where a folder should be: the path named, no stack', async () => {
  const file = join(work, 'FILE');
  await writeFile(file, 'x');
  const r = await dumpTo(join(file, '_backup'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /dspipe: \S+\/FILE\/_backup\/\S+: cannot \S+ .*ENOTDIR/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack');
});
