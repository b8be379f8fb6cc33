/**
 * The README's shell examples that target the emulator (`localhost:8081`,
 * `--emulator-host`, `dspipe emulator env-init`), run as written, in README
 * order, in one bash script against `dspipe emulator` started with the
 * README's own command: `npx dspipe` becomes this build, localhost:8081 a
 * free port, and the folders they name (a dump 20261122, a managed export
 * 2026-12-01T20:08:43_215) are made first. Every line must exit 0. The lines
 * left out are listed with the reason, so a new example is run unless it
 * says why not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/backend.js';
import { collectOutput, MAIN, type CliResult } from './cli/restore-cli-helpers.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const EXPORT_FIXTURE = join(REPO, 'test', 'fixtures', 'exports', 'every-value', 'export');

/** Lines not run, and why. */
const LEFT_OUT: [RegExp, string][] = [
  [/^#/, 'a comment'],
  [/&\s*(#.*)?$/, 'starts the emulator in the background: the test starts it with the same command'],
  [/\/shutdown/, 'stops the emulator: run last, on its own'],
  [/NAME\/NAME/, 'a placeholder for the export name :export chose'],
  [/for-gcloud/, "imports an export made by a --project my-app line that is not run here (its folder isn't there)"],
];

let dir: string;
let port: number;
let emulator: ChildProcess;
let emulatorDone: Promise<CliResult>;
const env = () => ({ ...process.env, DATASTORE_EMULATOR_HOST: '', GOOGLE_CLOUD_PROJECT: '', DATASTORE_PROJECT_ID: '', HOME: dir });
const local = (line: string) => line.replaceAll('localhost:8081', `127.0.0.1:${port}`).replace(/\bnpx dspipe\b/g, `node ${JSON.stringify(MAIN)}`);

function bash(script: string): Promise<CliResult> {
  return collectOutput(spawn('bash', ['-c', script], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] }));
}

async function shBlocks(): Promise<string[]> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n'));
}

const targetsEmulator = (line: string) => /localhost:8081|--emulator-host|dspipe emulator env-init/.test(line);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dspipe-readme-sh-'));
  port = await freePort();
  const start = (await shBlocks()).find((l) => /dspipe emulator --host-port localhost:8081 .*--data-dir \.emulator &/.test(l) && !/no-store-on-disk/.test(l));
  assert.ok(start, 'the README shows how to start the emulator');
  emulator = spawn('bash', ['-c', `exec ${local(start.replace(/&\s*(#.*)?$/, ''))}`], { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  emulatorDone = collectOutput(emulator);
  for (let i = 0; ; i++) {
    const up = await bash(`curl -sf 127.0.0.1:${port}/`);
    if (up.stdout.startsWith('Ok')) break;
    assert.equal(emulator.exitCode, null, 'the emulator keeps running');
    assert.ok(i < 100, 'the emulator answers within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  // What the examples name: data in my-app, a dump called 20261122, a managed export folder.
  const seed = await bash([
    `curl -sf -X POST 127.0.0.1:${port}/v1/projects/my-app:commit -d '{"mode":"NON_TRANSACTIONAL","mutations":[{"upsert":{"key":{"path":[{"kind":"Task","name":"first"}]},"properties":{"done":{"booleanValue":false}}}},{"upsert":{"key":{"path":[{"kind":"User","id":"7"}]},"properties":{"email":{"stringValue":"a@example.com"}}}}]}' >/dev/null`,
    `node ${JSON.stringify(MAIN)} dump --emulator-host 127.0.0.1:${port} --project my-app -n 20261122 --quiet`,
  ].join(' && '));
  assert.equal(seed.code, 0, seed.stderr);
  await cp(EXPORT_FIXTURE, join(dir, '2026-12-01T20:08:43_215'), { recursive: true });
});
after(async () => {
  if (emulator.exitCode === null) emulator.kill();
  await emulatorDone;
  await rm(dir, { recursive: true, force: true });
});

test("the README's emulator examples run as written, each exiting 0", async () => {
  const lines = (await shBlocks()).filter(targetsEmulator);
  const run: string[] = [];
  const skipped: string[] = [];
  let shutdown: string | undefined;
  for (const line of lines) {
    const why = LEFT_OUT.find(([re]) => re.test(line.trim()));
    if (/\/shutdown/.test(line)) shutdown = line;
    if (why) skipped.push(`${line.trim()}  — ${why[1]}`);
    else run.push(line);
  }
  assert.ok(run.length >= 8, `runs the examples (${run.length}):\n${run.join('\n')}`);
  // One shell, so env-init's exports hold for the lines after it; each line is echoed, and the first to fail stops it.
  const script = ['set -euo pipefail', ...run.map((l) => `echo ${JSON.stringify(`+ ${l.trim()}`)} >&2\n${local(l)}`)].join('\n');
  const r = await bash(script);
  assert.equal(r.code, 0, `${r.stderr}\n(skipped: ${skipped.join('; ')})`);
  assert.match(r.stdout, /^Ok/m, 'the health check answers Ok');
  assert.doesNotMatch(r.stderr, /^ {4}at /m);

  assert.ok(shutdown, 'the README shows how to stop it');
  const stop = await bash(local(shutdown));
  assert.equal(stop.code, 0, stop.stderr);
  const [code] = [await emulatorDone.then((e) => e.code)];
  assert.equal(code, 0, 'POST /shutdown stops the emulator cleanly');
});
