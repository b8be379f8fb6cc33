/**
 * Test data for the dump tests: entities with numeric and named ids,
 * ancestor paths and every common value type, written through the real
 * raw client.
 */
import type { TestEmulator } from '../helpers/emulator.js';
import type { IEntity, IKey, IValue } from '../../src/model/proto.js';

export function key(t: TestEmulator, namespace: string, ...path: Array<[string, string | number]>): IKey {
  return {
    partitionId: { projectId: t.connection.projectId, databaseId: t.connection.databaseId, namespaceId: namespace },
    path: path.map(([kind, idOrName]) => (typeof idOrName === 'number' ? { kind, id: String(idOrName) } : { kind, name: idOrName })),
  };
}

/** A deterministic entity for index `i`: mixed id styles, some with parents, varied values. */
export function sampleEntity(t: TestEmulator, namespace: string, kind: string, i: number): IEntity {
  const parent: Array<[string, string | number]> = i % 5 === 0 ? [['Parent', i % 3 === 0 ? 7 : 'p-7']] : [];
  const self: [string, string | number] = [kind, i % 2 === 0 ? i + 1 : `name-${String(i).padStart(5, '0')}`];
  const properties: Record<string, IValue> = {
    i: { integerValue: String(i) },
    big: { integerValue: '9223372036854775807' },
    d: { doubleValue: i + 0.5 },
    s: { stringValue: `value ${i} ✓` },
    b: { booleanValue: i % 2 === 0 },
    n: { nullValue: 'NULL_VALUE' },
    t: { timestampValue: { seconds: String(1700000000 + i), nanos: 123000 } },
    blob: { blobValue: Buffer.from([i & 255, 0, 255]), excludeFromIndexes: true },
    arr: { arrayValue: { values: [{ integerValue: '1' }, { stringValue: 'two' }] } },
    ref: { keyValue: key(t, namespace, ['Ref', i + 1]) },
  };
  return { key: key(t, namespace, ...parent, self), properties };
}

export async function put(t: TestEmulator, entities: IEntity[]): Promise<void> {
  for (let i = 0; i < entities.length; i += 400) {
    await t.client.commit({
      projectId: t.connection.projectId,
      databaseId: t.connection.databaseId,
      mode: 'NON_TRANSACTIONAL',
      mutations: entities.slice(i, i + 400).map((entity) => ({ upsert: entity })),
    });
  }
}

export async function seedKind(t: TestEmulator, namespace: string, kind: string, count: number): Promise<IEntity[]> {
  const entities = Array.from({ length: count }, (_, i) => sampleEntity(t, namespace, kind, i));
  await put(t, entities);
  return entities;
}

/** What Lookup returns for these keys, in the order given. */
export async function lookupAll(t: TestEmulator, keys: IKey[]): Promise<IEntity[]> {
  const out: IEntity[] = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const [res] = (await t.client.lookup({ projectId: t.connection.projectId, databaseId: t.connection.databaseId, keys: keys.slice(i, i + 1000) })) as [
      { found?: Array<{ entity: IEntity }> },
    ];
    out.push(...(res.found ?? []).map((r) => r.entity));
  }
  return out;
}
