/**
 * The test-backend helper against whichever backend DSPIPE_TEST_BACKEND names:
 * writes and reads through the raw client, and shows that two handles (and
 * fresh()) see separate, empty projects.
 *
 *   DSPIPE_TEST_BACKEND=legacy node --test dist/test/helpers/backend.test.js
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  backendName,
  describeBackend,
  googleEmulatorsInstalled,
  startTestBackend,
  type TestBackend,
} from './backend.js';
import type { google } from '@google-cloud/datastore/build/protos/protos.js';

// From the package rather than src/, which is being reorganised.
type IEntity = google.datastore.v1.IEntity;
type IKey = google.datastore.v1.IKey;

const NO_RETRY = { retry: null } as unknown as Record<string, never>;
const name = backendName();

const key = (kind: string, idOrName: string | number): IKey => ({
  path: [typeof idOrName === 'number' ? { kind, id: String(idOrName) } : { kind, name: idOrName }],
});

async function put(t: TestBackend, entities: IEntity[]): Promise<void> {
  await t.client.commit(
    { projectId: t.connection.projectId, databaseId: t.connection.databaseId, mode: 'NON_TRANSACTIONAL', mutations: entities.map((upsert) => ({ upsert })) },
    NO_RETRY,
  );
}

async function lookup(t: TestBackend, keys: IKey[]) {
  const [r] = await t.client.lookup({ projectId: t.connection.projectId, databaseId: t.connection.databaseId, keys }, NO_RETRY);
  return r;
}

/** Names (or ids) of every entity of `kind` in the handle's project. */
async function scan(t: TestBackend, kind: string): Promise<string[]> {
  const [r] = await t.client.runQuery(
    {
      projectId: t.connection.projectId,
      databaseId: t.connection.databaseId,
      partitionId: { projectId: t.connection.projectId, databaseId: t.connection.databaseId },
      query: { kind: [{ name: kind }], projection: [{ property: { name: '__key__' } }] },
    },
    NO_RETRY,
  );
  return ((r.batch?.entityResults ?? []) as google.datastore.v1.IEntityResult[]).map((e) => {
    const last = e.entity!.key!.path!.at(-1)!;
    return String(last.name ?? last.id);
  });
}

describe(`test backend ${describeBackend()}`, () => {
  if (name !== 'dspipe') {
    it('has the Google emulators installed', () => {
      const installed = googleEmulatorsInstalled();
      assert.ok(installed.ok, `DSPIPE_TEST_BACKEND=${name} needs Google's emulators: ${installed.why}`);
    });
  }

  const open: TestBackend[] = [];
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });
  const start = async () => {
    const t = await startTestBackend();
    open.push(t);
    return t;
  };

  it('commits entities through the raw client and looks them up', async () => {
    const t = await start();
    assert.equal(t.name, name);
    assert.match(t.emulatorHost, /^(localhost|127\.0\.0\.1):\d+$/);
    assert.match(t.connection.projectId, /^dspipe-test-\d+-[0-9a-f]{6}$/);
    await put(t, [
      { key: key('Item', 'a'), properties: { n: { integerValue: '1' }, s: { stringValue: 'alpha' } } },
      { key: key('Item', 'b'), properties: { n: { integerValue: '2' } } },
      { key: key('Item', 7), properties: { big: { stringValue: 'x'.repeat(2000), excludeFromIndexes: true } } },
    ]);
    const r = await lookup(t, [key('Item', 'a'), key('Item', 7), key('Item', 'nope')]);
    assert.equal(r.found!.length, 2);
    assert.equal(r.missing!.length, 1);
    const found = r.found as google.datastore.v1.IEntityResult[];
    const byName = new Map(found.map((f): [string, IEntity] => [String(f.entity!.key!.path![0]!.name ?? f.entity!.key!.path![0]!.id), f.entity!]));
    assert.equal(byName.get('a')!.properties!.n!.integerValue, '1');
    assert.equal(byName.get('a')!.properties!.s!.stringValue, 'alpha');
    assert.equal(byName.get('7')!.properties!.big!.stringValue!.length, 2000);
    assert.equal(byName.get('a')!.key!.partitionId!.projectId, t.connection.projectId);
    assert.deepEqual((await scan(t, 'Item')).sort(), ['7', 'a', 'b']);
  });

  it('gives each startTestBackend() and fresh() an empty project of its own', async () => {
    const a = await start();
    const b = await start();
    assert.notEqual(a.connection.projectId, b.connection.projectId);
    if (name !== 'dspipe') assert.equal(a.emulatorHost, b.emulatorHost, 'one Google emulator per process, shared');
    await put(a, [{ key: key('Shared', 'x'), properties: { from: { stringValue: 'a' } } }]);
    await put(b, [{ key: key('Shared', 'y'), properties: { from: { stringValue: 'b' } } }]);

    assert.deepEqual(await scan(a, 'Shared'), ['x']);
    assert.deepEqual(await scan(b, 'Shared'), ['y']);
    const seenFromB = await lookup(b, [key('Shared', 'x')]);
    assert.equal(seenFromB.found!.length, 0, "b must not see a's entity");
    assert.equal(seenFromB.missing!.length, 1);

    const c = await a.fresh();
    open.push(c);
    assert.equal(c.emulatorHost, a.emulatorHost);
    assert.notEqual(c.connection.projectId, a.connection.projectId);
    assert.deepEqual(await scan(c, 'Shared'), []);
    assert.equal((await lookup(c, [key('Shared', 'x'), key('Shared', 'y')])).found!.length, 0);

    // The high-level client is wired to the same project.
    const [entity] = await a.datastore.get(a.datastore.key(['Shared', 'x']));
    assert.equal((entity as { from?: string } | undefined)?.from, 'a');
    const [none] = await c.datastore.get(c.datastore.key(['Shared', 'x']));
    assert.equal(none, undefined);
  });

  it('keeps a project after another handle closes', async () => {
    const a = await start();
    const b = await start();
    await put(a, [{ key: key('Kept', 'k'), properties: {} }]);
    await b.close();
    assert.deepEqual(await scan(a, 'Kept'), ['k']);
  });
});
