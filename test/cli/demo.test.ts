/** `npm start` = `dspipe demo`, run as a child process the way a new user runs it (against the test backend: demo-external.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dspipe } from './restore-cli-helpers.js';

test('package.json start script runs the demo', async () => {
  // the nearest package.json above this compiled file (dist/ or a build dir)
  let dir = dirname(fileURLToPath(import.meta.url));
  let text: string | undefined;
  while (text === undefined) {
    text = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  const pkg = JSON.parse(text!);
  assert.equal(pkg.scripts.start, 'node dist/src/cli/main.js demo');
});

test('the demo seeds, dumps, clears, restores, verifies and exits 0', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dspipe-demo-'));
  try {
    const r = await dspipe(['demo', '--root', root]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const step of ['emulator', 'seed', 'dump', 'clear', 'restore', 'verify']) assert.match(r.stdout, new RegExp(`^${step}\\s`, 'm'));
    assert.match(r.stdout, /1507 entities looked up: all equal to the original/);
    assert.match(r.stdout, /^OK: 1507 entities/m);
    // sizes 1024-based and labelled so; the next step as it runs in a clone, where dspipe is not on PATH
    assert.match(r.stdout, /two ~900 KiB values/);
    assert.doesNotMatch(r.stdout, /\d (KB|MB)\b/);
    assert.match(r.stdout, /try: npx dspipe cat /);
    const [dir] = await readdir(root);
    assert.match(dir!, /^demo-\d{8}T\d{6}Z$/);
    const manifest = JSON.parse(await readFile(join(root, dir!, 'manifest.json'), 'utf8'));
    assert.equal(manifest.complete, true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('demo --help', async () => {
  const r = await dspipe(['demo', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--root', '--name', '--users', '--emulator-host', '--project', '--json']) assert.ok(r.stdout.includes(flag));
});
