/** The entity reader's `startAt` option (added for resuming migrations). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestEmulator, type TestEmulator } from '../helpers/emulator.js';
import { createEntityReader } from '../../src/stages/entity-reader.js';
import { seedUsers, userKey } from '../migrate/fixtures.js';
import type { IEntityResult } from '../../src/model/proto.js';

let t: TestEmulator;
before(async () => {
  t = await startTestEmulator();
  await seedUsers(t.client, t.connection, 120);
});
after(() => t.close());

for (const splits of [1, 4]) {
  test(`startAt reads from that key on, in key order (splits ${splits})`, async () => {
    const names: string[] = [];
    const reader = createEntityReader(t.client, t.connection, { namespace: '', kind: 'User', splits, pageSize: 7, startAt: userKey(t.connection, 45) });
    for await (const r of reader as AsyncIterable<IEntityResult>) names.push(r.entity!.key!.path![0]!.name!);
    assert.equal(names.length, 75);
    assert.equal(names[0], 'u00045');
    assert.equal(names.at(-1), 'u00119');
    assert.deepEqual(names, [...names].sort());
  });
}
