/**
 * Persistence with dataDir: what a client was told is committed survives
 * kill -9 of the emulator; a commit cut off by the crash is whole or absent;
 * a torn last record is ignored with a warning; a damaged log is refused with
 * the file and offset; compaction and reset survive restarts.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createClient, resolveConnection, type DatastoreClient } from '../../src/datastore/connection.js';
import { mulberry32 } from '../../src/prng.js';

const NO_RETRY = { retry: null } as unknown as Record<string, never>;
const INDEX = fileURLToPath(new URL('../../src/emulator/index.js', import.meta.url));
const PROJECT = 'durable';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'dspipe-durable-'));
  dirs.push(d);
  return d;
}

const clientOf = (address: string) => createClient(resolveConnection({ emulatorHost: address, projectId: PROJECT }, {}));
const key = (name: string) => ({ path: [{ kind: 'K', name }] });

/** One commit writes a pair: both halves or neither must come back. */
function pairCommit(client: DatastoreClient, n: number) {
  const properties = { n: { integerValue: String(n) }, blob: { blobValue: Buffer.alloc(64, n % 256) }, text: { stringValue: `commit ${n}`, excludeFromIndexes: true } };
  return client.commit(
    { projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: [{ upsert: { key: key(`a${n}`), properties } }, { upsert: { key: key(`b${n}`), properties } }] },
    NO_RETRY,
  );
}

async function lookupAll(client: DatastoreClient, names: string[]): Promise<Map<string, Record<string, any>>> {
  const out = new Map<string, Record<string, any>>();
  for (let i = 0; i < names.length; i += 500) {
    let keys = names.slice(i, i + 500).map(key);
    while (keys.length > 0) {
      const [r] = await client.lookup({ projectId: PROJECT, keys }, NO_RETRY);
      for (const f of r.found ?? []) out.set(f.entity!.key!.path![0]!.name!, f.entity!.properties!);
      keys = (r.deferred ?? []) as typeof keys;
    }
  }
  return out;
}

/** The emulator in a child process that can be killed with SIGKILL. */
function startChild(dataDir: string, compactBytes: number) {
  const script = `
    import { startEmulator } from ${JSON.stringify(INDEX)};
    const e = await startEmulator({ port: 0, host: '127.0.0.1', dataDir: ${JSON.stringify(dataDir)}, compactBytes: ${compactBytes} });
    process.stdout.write(e.address + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const address = (async () => {
    while (!out.includes('\n')) {
      if (child.exitCode !== null) throw new Error(`emulator exited: ${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return out.trim();
  })();
  return { child, address, stderr: () => err };
}

describe('dataDir: durable persistence', () => {
  test('kill -9 during a stream of commits: every acknowledged commit is there, none is half-applied', async () => {
    const dir = await tempDir();
    const random = mulberry32(13);
    const acknowledged = new Set<number>();
    let next = 0;
    // Three rounds, each killed at a random point; a small compaction threshold makes compactions happen mid-stream.
    for (let round = 0; round < 3; round++) {
      const emu = startChild(dir, 48 * 1024);
      const client = clientOf(await emu.address);
      const killAfter = 100 + Math.floor(random() * 200);
      let sent = 0;
      const inFlight = new Set<Promise<void>>();
      const sentThisRound: number[] = [];
      await new Promise<void>((resolve) => {
        const pump = () => {
          while (inFlight.size < 8 && sent < killAfter + 500) {
            const n = next++;
            sent++;
            sentThisRound.push(n);
            const p: Promise<void> = pairCommit(client, n).then(
              () => void acknowledged.add(n),
              () => undefined,
            ).finally(() => {
              inFlight.delete(p);
              if (sent === killAfter) {
                emu.child.kill('SIGKILL');
                resolve();
              } else if (emu.child.exitCode === null && emu.child.signalCode === null) pump();
            });
            inFlight.add(p);
          }
        };
        pump();
      });
      await once(emu.child, 'exit').catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await client.close();
      assert.ok(acknowledged.size > 0);

      const check = startChild(dir, 48 * 1024);
      const c = clientOf(await check.address);
      const names = sentThisRound.flatMap((n) => [`a${n}`, `b${n}`]);
      const found = await lookupAll(c, [...names, ...[...acknowledged].flatMap((n) => [`a${n}`, `b${n}`])]);
      for (const n of acknowledged) {
        const a = found.get(`a${n}`);
        assert.ok(a !== undefined && found.has(`b${n}`), `acknowledged commit ${n} is missing after kill -9 in round ${round}`);
        assert.equal(String(a.n.integerValue), String(n));
        assert.equal(a.text.stringValue, `commit ${n}`);
        assert.equal(a.text.excludeFromIndexes, true);
        assert.deepEqual(Buffer.from(a.blob.blobValue), Buffer.alloc(64, n % 256));
      }
      for (const n of sentThisRound) {
        assert.equal(found.has(`a${n}`), found.has(`b${n}`), `commit ${n} is half-applied after kill -9 in round ${round}`);
      }
      await c.close();
      check.child.kill('SIGKILL');
      await once(check.child, 'exit');
    }
    const files = await readdir(dir);
    assert.ok(files.includes('snapshot.dsp'), `no compaction happened: ${files.join(', ')}`);
  });

  test('a torn last record is ignored with a warning; the rest is kept', async () => {
    const dir = await tempDir();
    let e = await startEmulator({ port: 0, dataDir: dir });
    let client = clientOf(e.address);
    for (let n = 0; n < 5; n++) await pairCommit(client, n);
    await client.close();
    await e.stop();
    const [segment] = (await readdir(dir)).filter((f) => f.startsWith('log-'));
    const file = path.join(dir, segment!);
    const size = (await stat(file)).size;
    // What a crash in the middle of an append leaves: a length that promises more than was written.
    await appendFile(file, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      e = await startEmulator({ port: 0, dataDir: dir });
    } finally {
      process.stderr.write = write;
    }
    assert.equal(warnings.length, 1, warnings.join(''));
    assert.match(warnings[0]!, new RegExp(`${segment}: ignoring a torn last record at offset ${size} \\(10 bytes`));
    client = clientOf(e.address);
    assert.equal((await lookupAll(client, [0, 1, 2, 3, 4].flatMap((n) => [`a${n}`, `b${n}`]))).size, 10);
    await client.close();
    await e.stop();
    assert.equal((await stat(file)).size, size, 'the torn tail is cut off, so the next start is clean');
  });

  test('a damaged record with more after it is refused, naming the file and offset', async () => {
    const dir = await tempDir();
    const e = await startEmulator({ port: 0, dataDir: dir });
    const client = clientOf(e.address);
    for (let n = 0; n < 5; n++) await pairCommit(client, n);
    await client.close();
    await e.stop();
    const [segment] = (await readdir(dir)).filter((f) => f.startsWith('log-'));
    const file = path.join(dir, segment!);
    const data = await readFile(file);
    const first = 8; // after the magic
    const second = first + 8 + data.readUInt32LE(first);
    data[second + 20] ^= 0xff; // inside the second record's payload
    await writeFile(file, data);
    await assert.rejects(startEmulator({ port: 0, dataDir: dir }), (err: Error & { file?: string }) => {
      assert.equal(err.message, `${file} is corrupt at offset ${second}: record checksum mismatch; the emulator will not start on it`);
      assert.equal(err.file, file);
      return true;
    });
  });

  test('compaction, reset and allocated ids survive restarts', async () => {
    const dir = await tempDir();
    let e: Emulator = await startEmulator({ port: 0, dataDir: dir, compactBytes: 16 * 1024 });
    assert.equal(e.dataDir, dir);
    let client = clientOf(e.address);
    for (let n = 0; n < 300; n++) await pairCommit(client, n);
    await client.commit({ projectId: PROJECT, mode: 'NON_TRANSACTIONAL', mutations: [{ delete: key('a7') }] }, NO_RETRY);
    const [allocated] = await client.allocateIds({ projectId: PROJECT, keys: [{ path: [{ kind: 'K' }] }] }, NO_RETRY);
    await client.close();
    await e.stop();
    const files = await readdir(dir);
    assert.ok(files.includes('snapshot.dsp'));
    assert.ok(files.filter((f) => f.startsWith('log-')).length <= 2, files.join(', '));

    e = await startEmulator({ port: 0, dataDir: dir });
    client = clientOf(e.address);
    const names = Array.from({ length: 300 }, (_, n) => [`a${n}`, `b${n}`]).flat();
    const found = await lookupAll(client, names);
    assert.equal(found.size, 599);
    assert.equal(found.has('a7'), false);
    const [again] = await client.allocateIds({ projectId: PROJECT, keys: [{ path: [{ kind: 'K' }] }] }, NO_RETRY);
    assert.notEqual(again.keys![0]!.path![0]!.id, allocated.keys![0]!.path![0]!.id, 'an allocated id was handed out again after a restart');

    await e.reset();
    await client.close();
    await e.stop();
    e = await startEmulator({ port: 0, dataDir: dir });
    client = clientOf(e.address);
    assert.equal((await lookupAll(client, names)).size, 0, 'POST /reset is kept across a restart');
    await client.close();
    await e.stop();
  });
});
