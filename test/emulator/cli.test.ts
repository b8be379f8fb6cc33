import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
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
});
