import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { backendName, dspipeOnly, freshProjectId, startTestBackend, type TestBackend } from '../helpers/backend.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { restore } from '../../src/commands/restore.js';
import { DEMO_NAMESPACES, sampleDataset } from '../../src/demo/dataset.js';
import { compareEntities, lookupAll, seedEntities } from '../../src/demo/seed.js';
import { requestBase, type Connection } from '../../src/datastore/connection.js';
import type { IEntity, IKey } from '../../src/model/proto.js';
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import { createKeyRewrite, parseNamespaceMap } from '../../src/format/key-rewrite.js';
import { formatManifest, type DumpManifest } from '../../src/format/manifest.js';
import { createHash } from 'node:crypto';
import { compress } from 'zstd-napi';
import { keyIdentity } from '../../src/format/batching.js';
import { isDspipeError, type DspipeError } from '../../src/errors.js';
import { IdAllocator } from '../../src/emulator/ids.js';
import { readAll, writeDumpFolder } from './restore-fixtures.js';

let t: TestBackend;
let original: Map<string, IEntity>;
let keys: IKey[];
let dumpDir: string;
const work: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dspipe-restore-test-'));
  work.push(dir);
  return dir;
}

const conn = (projectId: string, databaseId = ''): Connection => ({ ...t.connection, projectId, databaseId });

/** Every entity in the demo dataset's namespaces (where the backend lists none, these are all there are). */
const readDemo = (connection: Connection) => readAll(t.client, connection, DEMO_NAMESPACES);

async function deleteAll(connection: Connection): Promise<void> {
  const all = await readDemo(connection);
  for (let i = 0; i < all.length; i += 200) {
    await t.client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: all.slice(i, i + 200).map((e) => ({ delete: e.key! })) });
  }
  assert.equal((await readDemo(connection)).length, 0);
}

before(async () => {
  t = await startTestBackend({ projectId: 'src-app' });
  const entities = sampleDataset({ projectId: 'src-app', users: 3 });
  await seedEntities(t.client, t.connection, entities);
  keys = entities.map((e) => e.key!);
  original = await lookupAll(t.client, t.connection, keys);
  assert.equal(original.size, entities.length);
  dumpDir = await tempDir();
  await writeDumpFolder(dumpDir, [...original.values()], { projectId: 'src-app', databaseId: '' });
});

after(async () => {
  await t.close();
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

describe('restore into the same database', () => {
  test('gives back every entity equal in raw protobuf form', async () => {
    await deleteAll(t.connection);
    const result = await restore({ in: dumpDir }, { connection: t.connection, client: t.client });
    assert.equal(result.entities, original.size);
    assert.equal(result.written, original.size);
    assert.equal(result.rejected, 0);
    const restored = await lookupAll(t.client, t.connection, keys);
    const cmp = compareEntities(original, restored);
    assert.deepEqual(cmp.missing, []);
    assert.deepEqual(cmp.different, []);
    assert.equal(cmp.compared, original.size);
    assert.equal((await readDemo(t.connection)).length, original.size, 'nothing extra written');
  });

  test('--dry-run verifies and reports, writes nothing', async () => {
    await deleteAll(t.connection);
    const result = await restore({ in: dumpDir, dryRun: true }, { connection: t.connection, client: t.client });
    assert.equal(result.dryRun, true);
    assert.equal(result.entities, original.size);
    assert.equal(result.written, 0);
    assert.ok(result.kinds.length >= 6);
    assert.equal((await readDemo(t.connection)).length, 0);
  });
});

/** A copy of an entity in the client's decoded shape (Buffers stay Buffers). */
const clone = (e: IEntity): IEntity => decodeEntity(encodeEntity(e));

describe('restore into another project and namespace', () => {
  test('rewrites entity keys and references that pointed into the dump, keeps foreign ones', async () => {
    const target = conn('dst-app');
    const namespaceMap = ['tenant-a=moved', '(default)=root'];
    const result = await restore({ in: dumpDir, namespaceMap }, { connection: target, client: t.client });
    assert.equal(result.written, original.size);
    const rewrite = createKeyRewrite({ source: { projectId: 'src-app', databaseId: '' }, target: { projectId: 'dst-app', databaseId: '' }, namespaceMap: parseNamespaceMap(namespaceMap) })!;
    const expected = new Map([...original.values()].map((e) => {
      const moved = rewrite(clone(e));
      return [keyIdentity(moved.key!), moved];
    }));
    const restored = await lookupAll(t.client, target, [...expected.values()].map((e) => e.key!));
    const cmp = compareEntities(expected, restored);
    assert.deepEqual(cmp.missing, []);
    assert.deepEqual(cmp.different, []);
    // spot checks of what the rewrite means
    const post = [...restored.values()].find((e) => e.key!.path!.at(-1)!.kind === 'Post' && e.key!.partitionId!.namespaceId === 'moved')!;
    assert.deepEqual(post.properties!.author!.keyValue!.partitionId, { projectId: 'dst-app', databaseId: '', namespaceId: 'moved' });
    const every = [...restored.values()].find((e) => e.key!.path!.at(-1)!.kind === 'EveryType' && e.key!.partitionId!.namespaceId === 'root')!;
    assert.equal(every.properties!.foreignRef!.keyValue!.partitionId!.projectId, 'some-other-app');
    assert.deepEqual(every.properties!.ref!.keyValue!.partitionId, { projectId: 'dst-app', databaseId: '', namespaceId: 'moved' });
    assert.equal((await readAll(t.client, conn('dst-app'), ['root', 'moved', 'tenant-b'])).length, original.size);
  });
});

/**
 * The ids the target project's allocator hands out first: the worst case for a
 * restore. dspipe's emulator: a fresh allocator's first ids. Google's emulators
 * draw from one seeded sequence (BACKENDS.md; probed 2026-12-01): Firestore's
 * per project, whatever the kind, namespace or parent, so a scratch project's
 * first ids are the target's too; legacy's per process, so these are merely
 * ids it has handed out (the check still holds, without the worst case).
 */
async function firstIds(n: number): Promise<string[]> {
  if (backendName() === 'dspipe') {
    const allocator = new IdAllocator();
    return Array.from({ length: n }, () => allocator.allocate(() => false));
  }
  const scratch = conn(freshProjectId('ids-scratch'));
  const template: IKey = { partitionId: { projectId: scratch.projectId, databaseId: '', namespaceId: '' }, path: [{ kind: 'Root' }] };
  const [res] = await t.client.allocateIds({ ...requestBase(scratch), keys: Array.from({ length: n }, () => template) });
  return (res.keys ?? []).map((k: IKey) => String(k.path!.at(-1)!.id));
}

describe('ids', () => {
  test('AllocateIds after a restore never returns a restored id, ancestors included', async () => {
    const first = await firstIds(30);
    const k = (ns: string, ...path: Array<[string, string]>): IKey => ({ partitionId: { projectId: 'ids-src', databaseId: '', namespaceId: ns }, path: path.map(([kind, id]) => ({ kind, id })) });
    const entities: IEntity[] = [];
    for (let i = 0; i < 10; i++) {
      entities.push({ key: k('', ['Root', first[i]!]), properties: {} });
      // the parent itself is not in the dump, yet its id is taken by the path
      entities.push({ key: k('ns', ['Parent', first[10 + i]!], ['Child', first[20 + i]!]), properties: {} });
    }
    const dir = await tempDir();
    await writeDumpFolder(dir, entities.map(clone), { projectId: 'ids-src', databaseId: '' });
    const target = conn('ids-app');
    const result = await restore({ in: dir }, { connection: target, client: t.client });
    assert.equal(result.written, 20);
    assert.equal(result.reservedIds, 30);
    const restoredIds = new Set(first);
    const incomplete = (ns: string, ...path: Array<[string, string?]>): IKey => ({
      partitionId: { projectId: 'ids-app', databaseId: '', namespaceId: ns },
      path: path.map(([kind, id]) => (id ? { kind, id } : { kind })),
    });
    for (const template of [incomplete('', ['Root']), incomplete('ns', ['Parent']), incomplete('ns', ['Parent', first[10]!], ['Child']), incomplete('', ['Other'])]) {
      const [res] = await t.client.allocateIds({ ...requestBase(target), keys: Array.from({ length: 100 }, () => template) });
      for (const key of res.keys ?? []) {
        const id = String(key.path!.at(-1)!.id);
        assert.ok(!restoredIds.has(id), `AllocateIds returned restored id ${id}`);
      }
    }
  });
});

describe('a damaged or incomplete dump is refused before any write', () => {
  async function copyDump(compression: 'zstd' | 'none' = 'zstd'): Promise<{ dir: string; manifest: DumpManifest }> {
    const dir = await tempDir();
    const manifest = await writeDumpFolder(dir, [...original.values()], { projectId: 'src-app', databaseId: '' }, compression);
    return { dir, manifest };
  }
  const target = () => conn('refused-app');
  async function assertRefused(dir: string, check: (err: DspipeError) => void): Promise<void> {
    await assert.rejects(restore({ in: dir }, { connection: target(), client: t.client }), (err: unknown) => {
      assert.ok(isDspipeError(err), String(err));
      check(err);
      return true;
    });
    assert.equal((await readDemo(target())).length, 0, 'the target is still empty');
  }
  // the last kind in the manifest, so earlier kinds would have been written by a careless restore
  const lastKind = (m: DumpManifest) => m.kinds.at(-1)!;

  test('a flipped byte', async () => {
    const { dir, manifest } = await copyDump();
    const file = join(dir, ...lastKind(manifest).file.split('/'));
    const bytes = await readFile(file);
    bytes[bytes.length >> 1] ^= 0x20;
    await writeFile(file, bytes);
    await assertRefused(dir, (err) => {
      assert.equal(err.code, 'DSPIPE_CORRUPT_DUMP');
      assert.equal(err.file, file);
      // zstd's own checksum or ours, whichever sees it first
    });
  });

  test('a truncated file', async () => {
    const { dir, manifest } = await copyDump();
    const file = join(dir, ...lastKind(manifest).file.split('/'));
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 10));
    await assertRefused(dir, (err) => {
      assert.equal(err.code, 'DSPIPE_CORRUPT_DUMP');
      assert.equal(err.file, file);
    });
  });

  test('a truncated file whose manifest was made to match: the cut line is named', async () => {
    const { dir, manifest } = await copyDump('none');
    const entry = manifest.kinds.find((k) => k.entities > 3)!;
    const file = join(dir, ...entry.file.split('/'));
    const bytes = (await readFile(file)).subarray(0, -20);
    await writeFile(file, bytes);
    Object.assign(entry, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    await writeFile(join(dir, 'manifest.json'), formatManifest(manifest));
    await assertRefused(dir, (err) => {
      assert.equal(err.code, 'DSPIPE_INVALID_LINE');
      assert.equal(err.file, file);
      assert.equal(err.line, entry.entities);
    });
  });

  test('a zstd file cut inside a frame, manifest made to match', async () => {
    const { dir, manifest } = await copyDump('zstd');
    const entry = lastKind(manifest);
    const file = join(dir, ...entry.file.split('/'));
    const bytes = (await readFile(file)).subarray(0, -7);
    await writeFile(file, bytes);
    Object.assign(entry, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    await writeFile(join(dir, 'manifest.json'), formatManifest(manifest));
    await assertRefused(dir, (err) => assert.equal(err.file, file));
  });

  test('a missing kind file', async () => {
    const { dir, manifest } = await copyDump();
    const file = join(dir, ...lastKind(manifest).file.split('/'));
    await rm(file);
    await assertRefused(dir, (err) => {
      assert.equal(err.code, 'DSPIPE_CORRUPT_DUMP');
      assert.equal(err.file, file);
      assert.match(err.message, /missing/);
    });
  });

  test('an entity count that does not match', async () => {
    const { dir, manifest } = await copyDump();
    lastKind(manifest).entities += 1;
    await writeFile(join(dir, 'manifest.json'), formatManifest(manifest));
    await assertRefused(dir, (err) => assert.match(err.message, /manifest says/));
  });

  test('no manifest, an unfinished dump, and no dump at all', async () => {
    const { dir, manifest } = await copyDump();
    await writeFile(join(dir, 'manifest.json'), formatManifest({ ...manifest, complete: false, finishedAt: null }));
    await assertRefused(dir, (err) => assert.equal(err.code, 'DSPIPE_CORRUPT_DUMP'));
    await rm(join(dir, 'manifest.json'));
    await assertRefused(dir, (err) => {
      assert.equal(err.code, 'DSPIPE_CORRUPT_DUMP');
      assert.match(err.message, /manifest/);
    });
    await assertRefused(join(dir, 'nope'), (err) => assert.equal(err.code, 'DSPIPE_NOT_FOUND'));
  });
});

describe('large entities, faults, rejects, stdin, modes', () => {
  test('entities of ~1 MiB restore with default options, in byte-sized batches', async () => {
    const big: IEntity[] = Array.from({ length: 24 }, (_, i) => ({
      key: { partitionId: { projectId: 'big-src', databaseId: '', namespaceId: '' }, path: [{ kind: 'Big', id: String(i + 1) }] },
      properties: { data: { blobValue: Buffer.alloc(1_048_000, i), excludeFromIndexes: true }, n: { integerValue: String(i) } },
    }));
    const dir = await tempDir();
    await writeDumpFolder(dir, big.map(clone), { projectId: 'big-src', databaseId: '' });
    const target = conn('big-app');
    const result = await restore({ in: dir }, { connection: target, client: t.client });
    assert.equal(result.written, 24);
    assert.ok(result.commits >= 3, `24 MB need at least 3 commits under 10 MiB, made ${result.commits}`);
    const back = await lookupAll(t.client, target, big.map((e) => ({ ...e.key!, partitionId: { projectId: 'big-app', databaseId: '', namespaceId: '' } })));
    assert.equal(back.size, 24);
    for (const e of back.values()) assert.equal((e.properties!.data!.blobValue as Buffer).length, 1_048_000);
  });

  test('injected transient faults (10%, seeded) still give a complete, exact restore', dspipeOnly('needs dspipe emulator fault injection'), async () => {
    const faulty = await startTestEmulator({ projectId: 'src-app', faults: { rate: 0.1, seed: 42 } });
    try {
      const result = await restore({ in: dumpDir }, { connection: faulty.connection, client: faulty.client, retry: { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: 20 } });
      assert.equal(result.written, original.size);
      assert.ok(result.retries > 0, 'faults were met and retried');
      const injected = [...faulty.emulator.faultsInjected().values()].reduce((a, b) => a + b, 0);
      assert.ok(injected > 0);
      const restored = await lookupAll(faulty.client, faulty.connection, keys);
      const cmp = compareEntities(original, restored);
      assert.deepEqual([cmp.missing, cmp.different], [[], []]);
    } finally {
      await faulty.close();
    }
  });

  const withBadEntity = async () => {
    const k = (id: number) => ({ partitionId: { projectId: 'rej-src', databaseId: '', namespaceId: '' }, path: [{ kind: 'Note', id: String(id) }] });
    const entities: IEntity[] = Array.from({ length: 40 }, (_, i) => ({ key: k(i + 1), properties: { text: { stringValue: `note ${i}` } } }));
    entities[17] = { key: k(18), properties: { text: { stringValue: 'x'.repeat(1600) } } }; // indexed and over 1,500 bytes
    const dir = await tempDir();
    await writeDumpFolder(dir, entities.map(clone), { projectId: 'rej-src', databaseId: '' });
    return dir;
  };

  test('an entity Datastore refuses fails the restore, naming its key', async () => {
    const dir = await withBadEntity();
    await assert.rejects(restore({ in: dir }, { connection: conn('rej-app'), client: t.client }), (err: unknown) => {
      assert.ok(isDspipeError(err, 'DSPIPE_REJECTED_ENTITY'), String(err));
      assert.equal(err.key, 'Note(18)');
      assert.equal(err.kind, 'Note');
      return true;
    });
  });

  test('--on-error skip writes the refused entity to a rejects file and counts it', async () => {
    const dir = await withBadEntity();
    const result = await restore({ in: dir, onError: 'skip' }, { connection: conn('rej-app2'), client: t.client });
    assert.equal(result.written, 39);
    assert.equal(result.rejected, 1);
    assert.equal(result.rejectsFile, join(dir, 'rejects.ndjson'));
    const lines = (await readFile(result.rejectsFile!, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1);
    const reject = JSON.parse(lines[0]!);
    assert.equal(reject.kind, 'Note');
    assert.equal(reject.error.key, 'Note(18)');
    assert.equal(reject.entity.key.path[0].id, '18');
    assert.equal(reject.entity.properties.text.stringValue.length, 1600);
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), [], 'no temp file left');
    assert.equal((await readAll(t.client, conn('rej-app2'), [''])).length, 39);
  });

  test('--on-error skip from stdin files a refused entity under its own namespace and kind, not "(stdin)"', async () => {
    const dir = await withBadEntity();
    const rejectsFile = join(dir, 'stdin-rejects.ndjson');
    const bytes = await readFile(join(dir, 'Note.ndjson.zst')).catch(() => undefined);
    const input = bytes ?? await readFile(join(dir, ...(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as DumpManifest).kinds[0]!.file.split('/')));
    const result = await restore({ in: '-', stdin: Readable.from([input]), onError: 'skip', rejects: rejectsFile }, { connection: conn('rej-app3'), client: t.client });
    assert.equal(result.rejected, 1);
    const reject = JSON.parse((await readFile(rejectsFile, 'utf8')).trim());
    assert.deepEqual([reject.namespace, reject.kind, reject.error.key], ['', 'Note', 'Note(18)']);
  });

  test('--in - restores NDJSON from stdin, plain and zstd; a bad line is refused before any write', async () => {
    const lines = [...original.values()].filter((e) => e.key!.partitionId!.namespaceId === 'tenant-b').map((e) => `${encodeEntity(e)}\n`).join('');
    const plain = await restore({ in: '-', stdin: Readable.from([Buffer.from(lines)]) }, { connection: conn('stdin-app'), client: t.client });
    assert.equal(plain.written, lines.split('\n').length - 1);
    const zstd = await restore({ in: '-', stdin: Readable.from([compress(Buffer.from(lines))]), kinds: 'User' }, { connection: conn('stdin-app2'), client: t.client });
    assert.equal(zstd.written, 3);
    await assert.rejects(
      restore({ in: '-', stdin: Readable.from([Buffer.from(`${lines}{"key": nope}\n`)]) }, { connection: conn('stdin-app3'), client: t.client }),
      (err: unknown) => isDspipeError(err, 'DSPIPE_INVALID_LINE') && err.line === lines.split('\n').length && err.file === '(stdin)',
    );
    assert.equal((await readAll(t.client, conn('stdin-app3'), ['tenant-b'])).length, 0);
  });

  test('--mode insert fails on keys that exist and names one', async () => {
    const target = conn('insert-app');
    await restore({ in: dumpDir, kinds: 'Tag' }, { connection: target, client: t.client });
    await assert.rejects(restore({ in: dumpDir, mode: 'insert', kinds: 'Tag' }, { connection: target, client: t.client }), (err: unknown) => {
      assert.ok(isDspipeError(err, 'DSPIPE_REJECTED_ENTITY'), String(err));
      assert.equal(err.key, 'Tag("a")');
      assert.match(err.message, /already exists/);
      assert.equal(err.describe().match(/already exists/g)?.length, 1, `said once: ${err.describe()}`);
      return true;
    });
    const fresh = await restore({ in: dumpDir, mode: 'insert', kinds: 'Tag,User' }, { connection: conn('insert-app2'), client: t.client });
    assert.equal(fresh.written, 1 + 9);
  });

  test('restore.batchSize in options.json caps a kind\'s batches', async () => {
    const root = await tempDir();
    await writeDumpFolder(join(root, 'd1'), [...original.values()], { projectId: 'src-app', databaseId: '' });
    await writeFile(join(root, 'options.json'), JSON.stringify({ restore: { User: { batchSize: 1 } } }));
    const result = await restore({ root, name: 'd1', kinds: 'User' }, { connection: conn('opts-app'), client: t.client });
    assert.equal(result.written, 9);
    assert.equal(result.commits, 9);
  });
});
