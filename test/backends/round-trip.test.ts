/**
 * dump → clear → restore gives back, on each backend, exactly what Lookup
 * returned before, as raw protobuf field by field (issue 11, "Done when"); and
 * a dump of each backend restores into each other one.
 *
 * The corpus (corpus.ts): every value type with excludeFromIndexes and
 * meanings, key values into other namespaces and projects, 3-deep ancestors,
 * three namespaces, a kind of 3,100 entities and six ~900 KB entities.
 * Only the library API is used: dump, clear and restore with
 * `{ connection: { emulatorHost, projectId } }` as their context.
 *
 * Compared with what the backend itself returned: Google's legacy emulator
 * stores the indexed values of an array first (BACKENDS.md 11), so across
 * backends the expected side is what the source returned, as the target stores it.
 *
 *   DSPIPE_TEST_BACKEND=firestore node --test dist/test/backends/round-trip.test.js
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from '../../src/commands/dump.js';
import { clear } from '../../src/commands/clear.js';
import { restore } from '../../src/commands/restore.js';
import type { IEntity } from '../../src/model/proto.js';
import {
  BACKEND_NAMES,
  backendName,
  describeBackend,
  freshProjectId,
  googleEmulatorsInstalled,
  namespacesToName,
  startTestBackend,
  type BackendName,
  type TestBackend,
} from '../helpers/backend.js';
import { asLegacyStores, compareLookups, corpus, CORPUS_NAMESPACES, HUGE, largeKeysOf, lookupRaw, MANY, seed } from './corpus.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dspipe-round-trip-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A dump of the whole corpus: told its namespaces where the backend lists none. */
function dumpAll(b: TestBackend, name: string) {
  const namespaces = namespacesToName(CORPUS_NAMESPACES, b.name);
  return dump({ root, name, ...(namespaces && { namespaces }) }, { connection: { emulatorHost: b.emulatorHost, projectId: b.connection.projectId } });
}

/** The corpus written to `b`, and what Lookup gives back for it. */
async function seeded(b: TestBackend): Promise<{ entities: IEntity[]; before: Map<string, IEntity>; look: () => Promise<Map<string, IEntity>> }> {
  const entities = corpus(b.connection.projectId);
  await seed(b.client, b.connection, entities);
  const keys = entities.map((e) => e.key!);
  const large = largeKeysOf(entities);
  const look = () => lookupRaw(b.client, b.connection, keys, large);
  const before = await look();
  assert.equal(before.size, entities.length, 'every corpus entity was stored');
  return { entities, before, look };
}

const showProblems = (problems: string[]) => `${problems.length} differences${problems.length >= 30 ? ' (first 30)' : ''}:\n${problems.join('\n')}`;

describe(`dump → clear → restore ${describeBackend()}`, () => {
  test('gives back every entity of the corpus equal to Lookup before the dump, field by field', async () => {
    const b = await startTestBackend();
    try {
      const { entities, before, look } = await seeded(b);
      const kinds = new Set(entities.map((e) => `${e.key!.partitionId!.namespaceId}/${e.key!.path!.at(-1)!.kind}`));
      assert.ok(entities.filter((e) => e.key!.path!.at(-1)!.kind === 'Many').length >= 3000);

      const dumped = await dumpAll(b, `own-${b.name}`);
      assert.equal(dumped.entities, entities.length);
      assert.equal(dumped.kinds.filter((k) => k.entities > 0).length, kinds.size);

      const namespaces = namespacesToName(CORPUS_NAMESPACES, b.name);
      const cleared = await clear({ yes: true, ...(namespaces && { namespaces }) }, { connection: { emulatorHost: b.emulatorHost, projectId: b.connection.projectId } });
      assert.equal(cleared.deleted, entities.length);
      assert.equal((await look()).size, 0, 'clear left nothing');

      const restored = await restore({ root, name: `own-${b.name}` }, { connection: { emulatorHost: b.emulatorHost, projectId: b.connection.projectId } });
      assert.equal(restored.written, entities.length);
      assert.equal(restored.rejected, 0);

      const problems = compareLookups(before, await look());
      assert.deepEqual(problems, [], showProblems(problems));
      // The corpus is what it says it is.
      assert.equal(before.size, entities.length);
      assert.equal([...before.values()].filter((e) => e.key!.path!.at(-1)!.kind === 'Huge').length, HUGE);
      assert.equal([...before.values()].filter((e) => e.key!.path!.at(-1)!.kind === 'Many').length, MANY);
    } finally {
      await b.close();
    }
  });
});

// Once per suite run (the dspipe pass, or a plain npm test), and only where all three can be started.
const installed = googleEmulatorsInstalled();
const crossSkip = backendName() !== 'dspipe'
  ? 'runs once, in the dspipe pass (DSPIPE_TEST_BACKEND unset or dspipe)'
  : !installed.ok ? `needs Google's emulators: ${installed.why}` : undefined;

describe('a dump of each backend restores into each other one', { ...(crossSkip && { skip: crossSkip }) }, () => {
  const handles = new Map<BackendName, TestBackend>();
  /** Per source, the project its corpus is in, there and on every target: no key needs rewriting. */
  const projectOf = new Map<BackendName, string>();
  const sources = new Map<BackendName, { before: Map<string, IEntity>; keys: IEntity[] }>();
  before(async () => {
    if (crossSkip) return;
    for (const name of BACKEND_NAMES) handles.set(name, await startTestBackend({ backend: name }));
  });
  after(async () => {
    for (const b of handles.values()) await b.close();
  });

  for (const source of BACKEND_NAMES) {
    test(`dump from ${source}`, async () => {
      // The corpus goes into a project of the source's own, whose id every target then restores into.
      const projectId = freshProjectId(`cross-${source}`);
      projectOf.set(source, projectId);
      const b = handles.get(source)!;
      const on: TestBackend = { ...b, connection: { ...b.connection, projectId } };
      const { entities, before } = await seeded(on);
      const dumped = await dumpAll(on, `cross-from-${source}`);
      assert.equal(dumped.entities, entities.length);
      sources.set(source, { before, keys: entities });
    });
    for (const into of BACKEND_NAMES.filter((n) => n !== source)) {
      test(`restore the ${source} dump into ${into}: Lookup equals what ${source} returned${into === 'legacy' ? ' (arrays as legacy stores them)' : ''}`, async () => {
        const from = sources.get(source);
        assert.ok(from, `the ${source} dump was made`);
        const b = handles.get(into)!;
        const projectId = projectOf.get(source)!;
        const connection = { ...b.connection, projectId };
        const restored = await restore({ root, name: `cross-from-${source}` }, { connection: { emulatorHost: b.emulatorHost, projectId } });
        assert.equal(restored.written, from.keys.length);
        assert.equal(restored.rejected, 0);
        const back = await lookupRaw(b.client, connection, from.keys.map((e) => e.key!), largeKeysOf(from.keys));
        const expected = into === 'legacy' ? new Map([...from.before].map(([id, e]) => [id, asLegacyStores(e)])) : from.before;
        const problems = compareLookups(expected, back);
        assert.deepEqual(problems, [], showProblems(problems));
      });
    }
  }
});
