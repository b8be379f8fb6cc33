/**
 * Progress on a real terminal: dspipe as a child process on a 60-column pty
 * (util-linux's `script`, Essential on Debian), against an emulator slow
 * enough (100 ms per RPC) that progress is drawn several times. What a user
 * with a narrow terminal sees: no progress line wider than the terminal, the long
 * label cut (…) and never the ETA; restore's lines without a bytes column
 * ("0 B"). dump-progress.test.ts tests the same layout on a fake TTY.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { requestBase } from '../../src/datastore/connection.js';
import { MAIN } from './restore-cli-helpers.js';

const NS = 'tenant-with-a-long-name';
const KIND = 'OrderLineItem'.repeat(3);
const N = 3000;
let t: TestEmulator;
let root: string;

before(async () => {
  t = await startTestEmulator({ latencyMs: 100 });
  root = await mkdtemp(join(tmpdir(), 'dspipe-pty-'));
  const partitionId = { projectId: t.connection.projectId, namespaceId: NS };
  for (let i = 0; i < N; i += 500) {
    const mutations = Array.from({ length: 500 }, (_, j) => ({
      upsert: { key: { partitionId, path: [{ kind: KIND, id: String(i + j + 1) }] }, properties: { n: { integerValue: String(i + j) }, s: { stringValue: 'x'.repeat(200) } } },
    }));
    await t.client.commit({ ...requestBase(t.connection), mode: 'NON_TRANSACTIONAL', mutations });
  }
});
after(async () => {
  await t.close();
  await rm(root, { recursive: true, force: true });
});

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** dspipe's argv run on a pty of 60 columns; what the terminal received, escapes stripped, one entry per drawn line. */
function onPty(argv: string[]): Promise<{ code: number | null; lines: string[]; raw: string }> {
  const command = `stty cols 60 rows 40; exec ${[process.execPath, MAIN, ...argv].map(sh).join(' ')}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '' } });
  let raw = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (raw += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (raw += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      // CSI sequences (cursor moves, clears) end a drawn line as a newline would
      const lines = raw
        .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n')
        .split(/\r?\n|\r/)
        .filter((l) => l.trim() !== '');
      resolve({ code, lines, raw });
    });
  });
}

test('dump and restore on a 60-column terminal: no progress line over 60 columns, the label cut before the ETA, no "0 B" on restore', async () => {
  const host = ['--emulator-host', t.emulator.address];
  const dump = await onPty(['dump', ...host, '--project', t.connection.projectId, '--root', root, '--name', 'narrow', '--namespaces', NS]);
  assert.equal(dump.code, 0, dump.raw);
  // a task's progress line: indented, then its label and count (the header and the summary are not)
  const task = (l: string) => /^  \S/.test(l) && / entities/.test(l);
  const drawn = dump.lines.filter(task);
  assert.ok(drawn.length >= 2, `progress was drawn (${drawn.length} lines):\n${dump.raw}`);
  // (the summary table at the end is a table: it may wrap, as any wide table does)
  for (const l of drawn) assert.ok(l.length <= 60, `a progress line wider than the terminal (${l.length}): ${JSON.stringify(l)}`);
  assert.ok(drawn.some((l) => /…/.test(l) && /ETA \d+:\d\d$/.test(l)), `a cut label with its ETA kept:\n${drawn.join('\n')}`);
  // never cut at the end: an ETA shown is shown whole
  for (const l of drawn) assert.ok(!/…$/.test(l) && (!/ETA/.test(l) || /ETA \d+(:\d\d)+$/.test(l)), `the end of a line was cut: ${JSON.stringify(l)}\n${drawn.join('\n')}`);

  const restore = await onPty(['restore', ...host, '--root', root, '--name', 'narrow', '--project', 'narrow-copy']);
  assert.equal(restore.code, 0, restore.raw);
  const restoreDrawn = restore.lines.filter(task);
  assert.ok(restoreDrawn.length >= 1, `restore progress was drawn:\n${restore.raw}`);
  for (const l of restoreDrawn) assert.ok(l.length <= 60, `a progress line wider than the terminal (${l.length}): ${JSON.stringify(l)}`);
  assert.ok(restoreDrawn.every((l) => !/ 0 B/.test(l)), `no bytes column on restore:\n${restoreDrawn.join('\n')}`);
});
