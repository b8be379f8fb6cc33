/**
 * dspipe as a user installs it: `npm pack` of this repository installed into
 * a fresh project with `--ignore-scripts` (pnpm's default, what npm's
 * allowScripts leads to), so zstd-napi's native addon is never built. On this
 * Node (20, no built-in zstd) a zstd dump is refused in one line naming the
 * fix, and `--compress none` dumps and restores; on Node 22 (the binary from
 * the npm registry) zstd dumps and restores through Node's zlib, and its files
 * read with zstd-napi, and zstd-napi's with it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { obtainNode, type NodeBinary } from '../helpers/node-binary.js';
import { seedKind } from '../stages/seed.js';
import { readAll } from '../commands/restore-fixtures.js';
import { dump } from '../../src/commands/dump.js';
import { hasBuiltinZstd } from '../../src/format/zstd.js';
import { kindLines } from '../commands/dump-helpers.js';
import { collectOutput, type CliResult } from '../cli/restore-cli-helpers.js';
import type { IEntity } from '../../src/model/proto.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

let work: string;
let bin: string;
/** Why the package could not be installed (no registry, no cache): every test skips naming it. */
let noInstall: string | undefined;
let t: TestEmulator;
let node22: NodeBinary;
let seeded: IEntity[];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dspipe-install-'));
  const app = join(work, 'app');
  try {
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: REPO, timeout: 120_000 });
    const tgz = join(work, stdout.trim().split('\n').at(-1)!);
    await run('mkdir', [app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tgz], { cwd: app, timeout: 300_000 });
    bin = join(app, 'node_modules', 'dspipe', 'dist', 'src', 'cli', 'main.js');
  } catch (err) {
    noInstall = `npm pack / npm install --ignore-scripts of dspipe failed (is the npm registry or its cache reachable?): ${(err as Error).message.split('\n')[0]}`;
  }
  t = await startTestEmulator({ projectId: 'app' });
  seeded = [...(await seedKind(t, '', 'User', 40)), ...(await seedKind(t, 'tenant-a', 'Order', 25))];
  node22 = await obtainNode(22);
});
after(async () => {
  await t?.close();
  await rm(work, { recursive: true, force: true });
});

/** The installed dspipe, run by `node` (this Node unless another is given). */
function installed(argv: string[], node = process.execPath): Promise<CliResult> {
  const child = spawn(node, [bin, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATASTORE_EMULATOR_HOST: '', GOOGLE_CLOUD_PROJECT: '', DATASTORE_PROJECT_ID: '', DSPIPE_ZSTD: '' },
  });
  return collectOutput(child);
}

const at = (project: string) => ['--emulator-host', t.emulator.address, '--project', project, '--root', join(work, 'dumps'), '--namespaces', '(default),tenant-a'];

/** The entities of `project`, keyed by their path, without the project. */
async function contents(project: string): Promise<Map<string, unknown>> {
  const all = await readAll(t.client, { ...t.connection, projectId: project }, ['', 'tenant-a']);
  return new Map(all.map((e) => [`${e.key!.partitionId!.namespaceId ?? ''}/${JSON.stringify(e.key!.path)}`, canonical(e.properties)]));
}

/** JSON with keys sorted and projects left out (a restore into another project moves key values there). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (k, v: unknown) =>
    k === 'projectId' ? undefined : v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

async function assertRestored(project: string): Promise<void> {
  const [source, copy] = [await contents('app'), await contents(project)];
  assert.equal(copy.size, seeded.length);
  assert.deepEqual(copy, source);
}

describe('npm pack installed with --ignore-scripts', () => {
  test('the package holds the example migration and no source maps (their sources are not shipped)', async (s) => {
    if (noInstall) return s.skip(noInstall);
    const pkg = join(work, 'app', 'node_modules', 'dspipe');
    assert.ok(existsSync(join(pkg, 'examples', 'migrations', '0001-birthday-to-string.ts')));
    const { stdout } = await run('find', [join(pkg, 'dist'), '-name', '*.map']);
    assert.equal(stdout, '');
  });

  test('on a Node without built-in zstd: zstd is refused in one line, nothing written; --compress none dumps and restores', async (s) => {
    if (noInstall) return s.skip(noInstall);
    if (hasBuiltinZstd()) return s.skip(`Node ${process.version} has zstd built in; the Node 22 test covers it`);
    const refused = await installed(['dump', ...at('app'), '-n', 'z']);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(refused.stdout, '');
    const lines = refused.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, refused.stderr);
    assert.match(lines[0]!, /^dspipe: no zstd here: Node v\d+\.\d+\.\d+ has no built-in zstd and zstd-napi's native addon is not built .*npm rebuild zstd-napi.*Node 22\.15 or later.*--compress none$/);
    assert.equal(existsSync(join(work, 'dumps', 'z')), false, 'no dump folder left behind');

    // a zstd dump made elsewhere: refused in the same line before anything is written
    await dump({ root: join(work, 'made-here'), name: 'z', namespaces: '(default),tenant-a' }, { connection: t.connection });
    const restoreZstd = await installed(['restore', '--in', join(work, 'made-here', 'z'), '--emulator-host', t.emulator.address, '--project', 'never']);
    assert.equal(restoreZstd.code, 1, restoreZstd.stderr);
    assert.match(restoreZstd.stderr, /^dspipe: no zstd here: .*--compress none\n$/);
    assert.equal((await contents('never')).size, 0);

    const plain = await installed(['dump', ...at('app'), '-n', 'plain', '--compress', 'none']);
    assert.equal(plain.code, 0, plain.stderr);
    const files = await readdir(join(work, 'dumps', 'plain', '(default)'));
    assert.deepEqual(files, ['User.ndjson']);
    const back = await installed(['restore', '-n', 'plain', '--root', join(work, 'dumps'), '--emulator-host', t.emulator.address, '--project', 'copy-plain']);
    assert.equal(back.code, 0, back.stderr);
    await assertRestored('copy-plain');
  });

  test('on Node 22: zstd dumps and restores through node:zlib, byte-compatible with zstd-napi both ways', async (s) => {
    if (noInstall) return s.skip(noInstall);
    if (!node22.ok) return s.skip(node22.why);
    const made = await installed(['dump', ...at('app'), '-n', 'z22'], node22.path);
    assert.equal(made.code, 0, made.stderr);
    const dir = join(work, 'dumps', 'z22');
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { compression: string; kinds: { file: string; entities: number }[] };
    assert.equal(manifest.compression, 'zstd');
    // node:zlib's frames, read here by this Node's zstd (zstd-napi on Node 20)
    for (const k of manifest.kinds) assert.equal((await kindLines(dir, k.file)).length, k.entities, k.file);

    const back = await installed(['restore', '-n', 'z22', '--root', join(work, 'dumps'), '--emulator-host', t.emulator.address, '--project', 'copy-22'], node22.path);
    assert.equal(back.code, 0, back.stderr);
    await assertRestored('copy-22');

    // and a dump written by this Node's zstd, restored on Node 22
    const mine = join(work, 'mine');
    await dump({ root: mine, name: 'z', namespaces: '(default),tenant-a' }, { connection: t.connection });
    const fromMine = await installed(['restore', '--in', join(mine, 'z'), '--emulator-host', t.emulator.address, '--project', 'copy-mine'], node22.path);
    assert.equal(fromMine.code, 0, fromMine.stderr);
    await assertRestored('copy-mine');
  });
});
