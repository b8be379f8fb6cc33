import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulator } from '../../src/emulator/index.js';
import { createClient, resolveConnection } from '../../src/datastore/connection.js';
import { NO_RETRY } from './conformance.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function start(args: string[]) {
  const child = spawn(process.execPath, [MAIN, 'emulator', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('dspipe emulator (CLI)', () => {
  it('prints the export line, serves, and stops cleanly on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const p = start(['--port', '0']);
      while (!/export DATASTORE_EMULATOR_HOST=localhost:\d+\n/.test(p.out())) {
        if (p.child.exitCode !== null) assert.fail(`exited early: ${p.err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const address = /DATASTORE_EMULATOR_HOST=(\S+)/.exec(p.out())![1]!;
      const client = createClient(resolveConnection({ emulatorHost: address, projectId: 'cli-test' }, {}));
      const [r] = await client.commit(
        { projectId: 'cli-test', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key: { path: [{ kind: 'K', name: 'a' }] } } }] },
        NO_RETRY,
      );
      assert.equal(r.mutationResults!.length, 1);
      await client.close();
      p.child.kill(signal);
      const [code] = await p.exited;
      assert.equal(code, 0, p.err());
      assert.match(p.err(), new RegExp(`stopped \\(${signal}\\)`));
    }
  });

  it('explains bad options with exit code 2, and --help helps', async () => {
    const bad = start(['--fail-rate', '3']);
    const [code] = await bad.exited;
    assert.equal(code, 2);
    assert.match(bad.err(), /--fail-rate "3" is not a number from 0 to 1 \(library option: faults.rate\)/);
    const help = start(['--help']);
    const [helpCode] = await help.exited;
    assert.equal(helpCode, 0);
    assert.match(help.out(), /--latency-ms N/);
  });

  it("takes gcloud's flags, prints gcloud's five variables, and env-init prints them again", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dspipe-emu-'));
    try {
      const p = start(['--host-port', '127.0.0.1:0', '--project', 'my-app', '--data-dir', dir, '--no-store-on-disk', '--consistency', '0.9']);
      while (!/DATASTORE_PROJECT_ID=.*\n/.test(p.out())) {
        if (p.child.exitCode !== null) assert.fail(`exited early: ${p.err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const address = /DATASTORE_EMULATOR_HOST=(\S+)/.exec(p.out())![1]!;
      assert.match(address, /^127\.0\.0\.1:\d+$/);
      const expected = [
        `export DATASTORE_DATASET=my-app`,
        `export DATASTORE_EMULATOR_HOST=${address}`,
        `export DATASTORE_EMULATOR_HOST_PATH=${address}/datastore`,
        `export DATASTORE_HOST=http://${address}`,
        `export DATASTORE_PROJECT_ID=my-app`,
      ].join('\n') + '\n';
      assert.equal(p.out(), expected);
      assert.match(await readFile(path.join(dir, 'env.yaml'), 'utf8'), /^---\nDATASTORE_DATASET: my-app\n/);
      const env = start(['env-init', '--data-dir', dir]);
      await env.exited;
      assert.equal(env.out(), expected);
      // POST /shutdown stops it, as Google's emulator.
      const res = await fetch(`http://${address}/shutdown`, { method: 'POST' });
      assert.equal(await res.text(), 'Shutting down...\n');
      const [code] = await p.exited;
      assert.equal(code, 0, p.err());
      assert.match(p.err(), /stopped \(POST \/shutdown\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--data-dir keeps the data across a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dspipe-emu-'));
    try {
      const key = { path: [{ kind: 'K', name: 'kept' }] };
      for (const round of [0, 1]) {
        const p = start(['--port', '0', '--data-dir', dir]);
        while (!/DATASTORE_PROJECT_ID=.*\n/.test(p.out())) {
          if (p.child.exitCode !== null) assert.fail(`exited early: ${p.err()}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const address = /DATASTORE_EMULATOR_HOST=(\S+)/.exec(p.out())![1]!;
        const client = createClient(resolveConnection({ emulatorHost: address, projectId: 'cli-test' }, {}));
        if (round === 0) {
          await client.commit({ projectId: 'cli-test', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key, properties: { v: { stringValue: 'x' } } } }] }, NO_RETRY);
        } else {
          const [r] = await client.lookup({ projectId: 'cli-test', keys: [key] }, NO_RETRY);
          assert.equal(r.found![0]!.entity!.properties!.v!.stringValue, 'x');
        }
        await client.close();
        p.child.kill('SIGTERM');
        const [code] = await p.exited;
        assert.equal(code, 0, p.err());
        assert.match(p.err(), new RegExp(`data kept in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('env-init without a data dir that has env.yaml says what to do', async () => {
    const p = start(['env-init', '--data-dir', path.join(tmpdir(), 'dspipe-no-such-dir')]);
    const [code] = await p.exited;
    assert.equal(code, 1);
    assert.match(p.err(), /no env\.yaml in .*dspipe-no-such-dir/);
  });

  it('a busy port is one line on stderr, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = start(['--host', '127.0.0.1', '--port', String(port)]);
      const [code] = await p.exited;
      assert.equal(code, 1);
      assert.equal(p.err(), `dspipe: port ${port} on 127.0.0.1 is already in use: is another emulator running? pick another --port (or --port 0 for a free one)\n`);
      assert.equal(p.out(), '');
    } finally {
      blocker.close();
    }
  });
});

describe('startEmulator()', () => {
  it('reset() drops every project, as POST /reset does', async () => {
    const emulator = await startEmulator({ port: 0 });
    const client = createClient(resolveConnection({ emulatorHost: emulator.address, projectId: 'p' }, {}));
    try {
      const key = { path: [{ kind: 'K', name: 'a' }] };
      const put = () => client.commit({ projectId: 'p', mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key } }] }, NO_RETRY);
      const found = async () => (await client.lookup({ projectId: 'p', keys: [key] }, NO_RETRY))[0].found!.length;
      await put();
      assert.equal(await found(), 1);
      await emulator.reset();
      assert.equal(await found(), 0);
      await put();
      const res = await fetch(`http://${emulator.address}/reset`, { method: 'POST' });
      assert.equal(await res.text(), 'Resetting...\n');
      assert.equal(await found(), 0);
      assert.equal(await (await fetch(`http://${emulator.address}/`)).text(), 'Ok\n');
    } finally {
      await client.close();
      await emulator.stop();
    }
    await emulator.stopped;
  });

  it('a busy port rejects with PortInUseError', async () => {
    const first = await startEmulator({ port: 0, host: '127.0.0.1' });
    try {
      await assert.rejects(startEmulator({ port: first.port, host: '127.0.0.1' }), { name: 'PortInUseError', message: `port ${first.port} on 127.0.0.1 is already in use` });
    } finally {
      await first.stop();
    }
  });
});
