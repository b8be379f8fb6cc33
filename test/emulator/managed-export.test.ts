/**
 * Managed exports in dspipe's emulator, against the real thing: an export made
 * by Google's legacy emulator (`POST :export`) loaded with
 * `startEmulator({ importFrom })` gives Lookup equal to the legacy emulator's,
 * field by field; an export made by dspipe's `:export` is taken by Google's
 * `:import` and by dspipe's own, with the same Lookup. Needs Google's legacy
 * emulator (installed on the project's machines); skipped with the reason
 * where it is not.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createClient, resolveConnection, type Connection, type DatastoreClient } from '../../src/datastore/connection.js';
import { freshProjectId, googleEmulatorsInstalled, startGoogleEmulatorProcess, type GoogleEmulatorProcess } from '../helpers/backend.js';
import { compareLookups, corpus, largeKeysOf, lookupRaw, seed } from '../backends/corpus.js';
import type { IEntity } from '../../src/model/proto.js';

const installed = googleEmulatorsInstalled();
type Json = Record<string, any>;

async function post(address: string, call: string, body: object): Promise<{ status: number; json: Json }> {
  const res = await fetch(`http://${address}/v1/projects/${call}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
}

function handle(address: string, projectId: string): { connection: Connection; client: DatastoreClient } {
  const connection = resolveConnection({ emulatorHost: address, projectId }, {});
  return { connection, client: createClient(connection) };
}

describe('managed export: --import, :export and :import beside Google\'s legacy emulator', { ...(!installed.ok && { skip: `needs Google's legacy emulator: ${installed.why}` }) }, () => {
  let root: string;
  let legacy: GoogleEmulatorProcess;
  let entities: IEntity[];
  let project: string;
  let expected: Map<string, IEntity>;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dspipe-managed-export-'));
    legacy = await startGoogleEmulatorProcess('legacy');
    project = freshProjectId('export-src');
    entities = corpus(project);
    const h = handle(legacy.address, project);
    await seed(h.client, h.connection, entities);
    expected = await lookupRaw(h.client, h.connection, entities.map((e) => e.key!), largeKeysOf(entities));
    assert.equal(expected.size, entities.length);
    await h.client.close();
  });
  after(async () => {
    await legacy?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('--import of an export made by Google\'s emulator: Lookup equals the source', async () => {
    const r = await post(legacy.address, `${project}:export`, { output_url_prefix: join(root, 'google') });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const emulator = await startEmulator({ port: 0, importFrom: join(root, 'google') });
    try {
      assert.deepEqual(emulator.imported, { entities: entities.length, format: 'managed export' });
      const h = handle(emulator.address, project);
      const problems = compareLookups(expected, await lookupRaw(h.client, h.connection, entities.map((e) => e.key!), largeKeysOf(entities)));
      await h.client.close();
      assert.deepEqual(problems, [], problems.slice(0, 30).join('\n'));
    } finally {
      await emulator.stop();
    }
  });

  test(':export of dspipe\'s emulator is taken by Google\'s :import and by its own, into the project of the URL', async () => {
    let emulator: Emulator | undefined;
    try {
      emulator = await startEmulator({ port: 0, importFrom: join(root, 'google') });
      const out = join(root, 'dspipe');
      const r = await post(emulator.address, `${project}:export`, { outputUrlPrefix: out });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.done, true);
      assert.equal(r.json.metadata.common.state, 'SUCCESSFUL');
      const inputUrl = r.json.response.outputUrl as string;
      assert.match(inputUrl, /\.overall_export_metadata$/);
      const again = await post(emulator.address, `${project}:export`, { outputUrlPrefix: out });
      assert.equal(again.status, 400);
      assert.match(again.json.error.message, /already exists/);

      for (const target of [legacy.address, emulator.address]) {
        const into = freshProjectId('export-dst');
        const imported = await post(target, `${into}:import`, { input_url: inputUrl });
        assert.equal(imported.status, 200, JSON.stringify(imported.json));
        // Both put the entities in the URL's project: the expected side is the source, moved there.
        const moved = entities.map((e) => ({ ...e, key: { ...e.key!, partitionId: { ...e.key!.partitionId!, projectId: into } } }));
        const h = handle(target, into);
        const got = await lookupRaw(h.client, h.connection, moved.map((e) => e.key!), largeKeysOf(moved));
        await h.client.close();
        assert.equal(got.size, entities.length, `${target === legacy.address ? 'legacy' : 'dspipe'} :import of dspipe's export`);
      }
      const bad = await post(emulator.address, `${project}:import`, { input_url: '/nonexistent/x.overall_export_metadata' });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /^Failed to parse overall export metadata file/);
    } finally {
      await emulator?.stop();
    }
  });
});
