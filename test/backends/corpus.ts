/**
 * The round-trip corpus (issue 11, "Done when"): every value type Datastore
 * has, with excludeFromIndexes and the meanings production stores, key values
 * into other namespaces and projects, 3-deep ancestor paths with ids and
 * names, several namespaces, one kind of 3,000+ entities and six ~900 KB
 * entities; and reading it back with the raw v1 client, field by field.
 */
import type { Connection, DatastoreClient } from '../../src/datastore/connection.js';
import { requestBase } from '../../src/datastore/connection.js';
import type { IEntity, IKey, IValue } from '../../src/model/proto.js';

export const CORPUS_NAMESPACES = ['', 'ns-a', 'ns.b_c-1'] as const;
export const MANY = 3_100;
export const HUGE = 6;
const HUGE_CHARS = 900_000;

type PathElement = [kind: string, idOrName: string | number];

export function corpusKey(projectId: string, namespace: string, ...path: PathElement[]): IKey {
  return {
    partitionId: { projectId, databaseId: '', namespaceId: namespace },
    path: path.map(([kind, v]) => (typeof v === 'number' ? { kind, id: String(v) } : { kind, name: v })),
  };
}

/** Value builders, shared with the export corpus (test/fixtures/export-corpus.ts). */
export const str = (s: string, excludeFromIndexes = false): IValue => ({ stringValue: s, ...(excludeFromIndexes && { excludeFromIndexes }) });
export const int = (n: string | number): IValue => ({ integerValue: String(n) });
export const dbl = (d: number): IValue => ({ doubleValue: d });
export const ts = (seconds: string | number, nanos = 0): IValue => ({ timestampValue: { seconds: String(seconds), nanos } });
export const arr = (...values: IValue[]): IValue => ({ arrayValue: { values } });

/** One entity with every value type, in `namespace`; `variant` changes a few values so the copies differ. */
function everyValue(projectId: string, namespace: string, variant: number): IEntity {
  const key = (ns: string, ...path: PathElement[]) => ({ keyValue: corpusKey(projectId, ns, ...path) });
  const properties: Record<string, IValue> = {
    null: { nullValue: 'NULL_VALUE' },
    true: { booleanValue: true },
    false: { booleanValue: false },
    zero: int(0),
    one: int(variant + 1),
    minusOne: int(-1),
    int64Max: int('9223372036854775807'),
    int64Min: int('-9223372036854775808'),
    doubleZero: dbl(0),
    negZero: dbl(-0),
    nan: dbl(NaN),
    inf: dbl(Infinity),
    negInf: dbl(-Infinity),
    pi: dbl(Math.PI * (variant + 1)),
    tiny: dbl(Number.MIN_VALUE),
    huge: dbl(Number.MAX_VALUE),
    epoch: ts(0),
    micros: ts(1_700_000_000 + variant, 123_456_000),
    beforeEpoch: ts(-86_400 * 365, 999_999_000),
    first: ts('-62135596800'),
    last: ts('253402300799', 999_999_000),
    keySame: key(namespace, ['Target', 'same']),
    keyOtherNs: key(namespace === 'ns-a' ? '' : 'ns-a', ['Target', 7]),
    keyDeep: key(namespace, ['Grand', 1], ['Parent', 'p'], ['Child', 3]),
    keyOtherProject: { keyValue: { partitionId: { projectId: 'some-other-app', databaseId: '', namespaceId: 'elsewhere' }, path: [{ kind: 'Far', name: 'away' }] } },
    empty: str(''),
    unicode: str(`héllo wörld 東京 🎉 ${variant}`),
    nul: str('a\u0000b'),
    longUnindexed: str('u'.repeat(3000), true),
    blob: { blobValue: Buffer.from(Array.from({ length: 256 }, (_, i) => (i + variant) & 255)) },
    emptyBlob: { blobValue: Buffer.alloc(0) },
    blobUnindexed: { blobValue: Buffer.alloc(2000, variant), excludeFromIndexes: true },
    geo: { geoPointValue: { latitude: 37.4220656, longitude: -122.0840897 + variant } },
    geoEdge: { geoPointValue: { latitude: -90, longitude: 180 } },
    emptyArray: arr(),
    mixedArray: arr(int(1), str('two'), dbl(3.5), { nullValue: 'NULL_VALUE' }, { booleanValue: false }, key('', ['Target', 'x']), ts(5, 6000),
      { geoPointValue: { latitude: 1, longitude: 2 } }, { blobValue: Buffer.from([9, 8]) }, { entityValue: { properties: { in: int(1) } } }),
    unindexedArray: arr(str('x'.repeat(2000), true), str('y', true)),
    // Legacy stores the indexed elements of such an array first (BACKENDS.md 11): compared modulo that.
    halfIndexedArray: arr(str('idx-1'), str('unidx-1', true), int(2), str('unidx-2', true), str('idx-3')),
    entity: { entityValue: { properties: { street: str('1600 Amphitheatre Pkwy'), notes: str('n'.repeat(1600), true), geo: { geoPointValue: { latitude: 1.5, longitude: 2.5 } } } } },
    entityWithKey: { entityValue: { key: corpusKey(projectId, namespace, ['Embedded', 7]), properties: { n: int(7) } } },
    entityWithNameKey: { entityValue: { key: corpusKey(projectId, namespace, ['Outer', 'o'], ['Embedded', 'e']), properties: {} } },
    // The entity's own flag does not reach its properties: Google's emulators refuse an indexed 1,700-byte string inside.
    entityUnindexed: { entityValue: { properties: { big: str('b'.repeat(1700), true), small: str('s') } }, excludeFromIndexes: true },
    nested: arr({ entityValue: { properties: { inner: arr({ entityValue: { properties: { deep: key('ns-a', ['User', 42]), list: arr(int(1), int(2)) } } }) } } }),
    emptyEntity: { entityValue: {} },
    // Meanings production stores (see src/emulator/meanings.ts): each on the one value it fits.
    text: { stringValue: 'long text', meaning: 15, excludeFromIndexes: true },
    zlib: { blobValue: Buffer.from([0x78, 0x9c, 3, 0, 0, 0, 0, 1]), meaning: 22, excludeFromIndexes: true },
    byteString: { blobValue: Buffer.from('ZGF0YQ==', 'base64'), meaning: 16 },
    category: { stringValue: 'cat', meaning: 1 },
    url: { stringValue: 'https://example.com/x', meaning: 2 },
    rating: { integerValue: '73', meaning: 13 },
    // Not meaning 23 on a geo point: legacy and dspipe's emulator keep it, Firestore's refuses it
    // ("OnestoreEntity.PropertyValue meaning does not match value fields."), so it cannot cross.
  };
  return { key: corpusKey(projectId, namespace, ['Value', variant + 1]), properties };
}

/** The whole corpus for one project. Deterministic. */
export function corpus(projectId: string): IEntity[] {
  const out: IEntity[] = [];
  for (const [i, ns] of CORPUS_NAMESPACES.entries()) {
    out.push(everyValue(projectId, ns, i), everyValue(projectId, ns, i + 10));
    // 3-deep ancestor paths, ids and names mixed, and their parents (some stored, some only in paths)
    for (let g = 1; g <= 3; g++) {
      const grand: PathElement = ['Grand', g % 2 === 0 ? `g${g}` : g];
      if (g !== 3) out.push({ key: corpusKey(projectId, ns, grand), properties: { level: int(1) } });
      for (let p = 1; p <= 2; p++) {
        const parent: PathElement = ['Parent', p % 2 === 0 ? p * 100 : `p${p}`];
        out.push({ key: corpusKey(projectId, ns, grand, parent), properties: { level: int(2) } });
        for (let c = 1; c <= 3; c++) {
          const child: PathElement = ['Child', c === 2 ? `c${c}` : c + 1000 * g];
          out.push({ key: corpusKey(projectId, ns, grand, parent, child), properties: { level: int(3), up: { keyValue: corpusKey(projectId, ns, grand, parent) } } });
        }
      }
    }
    out.push({ key: corpusKey(projectId, ns, ['Target', 'same']), properties: { label: str(`target in ${ns || '(default)'}`) } });
  }
  for (let i = 0; i < MANY; i++) {
    // ids spread like an allocator's, and names, so key order is not insertion order
    const id: string | number = i % 4 === 3 ? `m-${String(i).padStart(5, '0')}` : 4_503_599_627_370_496 + ((i * 2_654_435_761) % 2_000_000_000_000);
    out.push({ key: corpusKey(projectId, '', ['Many', id]), properties: { i: int(i), s: str(`many ${i}`), at: ts(1_600_000_000 + i, (i % 1000) * 1000) } });
  }
  for (let i = 0; i < HUGE; i++) {
    const ch = String.fromCharCode(97 + i);
    out.push({ key: corpusKey(projectId, 'ns-a', ['Huge', i + 1]), properties: { body: str(ch.repeat(HUGE_CHARS), true), n: int(i) } });
  }
  return out;
}

/** Rough request bytes of an entity, for keeping seed commits under Google's 4 MiB request cap. */
const roughBytes = (e: IEntity): number => Buffer.byteLength(JSON.stringify(e, (_k, v) => (Buffer.isBuffer(v) ? 'x'.repeat(v.length) : v)));

/** Writes entities with the raw client: ≤ 500 mutations and ≤ ~3 MB a commit. */
export async function seed(client: DatastoreClient, connection: Connection, entities: readonly IEntity[]): Promise<void> {
  let batch: IEntity[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await client.commit({ ...requestBase(connection), mode: 'NON_TRANSACTIONAL', mutations: batch.map((upsert) => ({ upsert })) });
    batch = [];
    bytes = 0;
  };
  for (const e of entities) {
    const size = roughBytes(e);
    if (batch.length === 500 || (batch.length > 0 && bytes + size > 3_000_000)) await flush();
    batch.push(e);
    bytes += size;
  }
  await flush();
}

export const keyId = (key: IKey): string => JSON.stringify([key.partitionId?.namespaceId ?? '', (key.path ?? []).map((p) => [p.kind, p.id ?? null, p.name ?? null])]);

/**
 * What Lookup returns for `keys`, by key, read with the raw client in requests
 * that keep every response well under 4 MiB, following `deferred` keys.
 */
export async function lookupRaw(client: DatastoreClient, connection: Connection, keys: readonly IKey[], largeKeys: ReadonlySet<string> = new Set()): Promise<Map<string, IEntity>> {
  const found = new Map<string, IEntity>();
  const small = keys.filter((k) => !largeKeys.has(keyId(k)));
  const large = keys.filter((k) => largeKeys.has(keyId(k)));
  const chunks: IKey[][] = [];
  for (let i = 0; i < small.length; i += 300) chunks.push(small.slice(i, i + 300));
  for (let i = 0; i < large.length; i += 2) chunks.push(large.slice(i, i + 2));
  while (chunks.length > 0) {
    const chunk = chunks.shift()!;
    const [res] = await client.lookup({ ...requestBase(connection), keys: chunk });
    for (const r of res.found ?? []) found.set(keyId(r.entity!.key!), r.entity as IEntity);
    if ((res.deferred ?? []).length > 0) chunks.push(res.deferred as IKey[]);
  }
  return found;
}

/** The keys of the corpus entities too large to look up many at once. */
export const largeKeysOf = (entities: readonly IEntity[]): Set<string> =>
  new Set(entities.filter((e) => e.key!.path!.at(-1)!.kind === 'Huge').map((e) => keyId(e.key!)));

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Every field where `actual` differs from `expected`, as "path: expected X, got Y" (NaN equals NaN; -0 is not 0). */
export function fieldDiff(expected: unknown, actual: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 20) return out;
  if (expected instanceof Uint8Array || actual instanceof Uint8Array) {
    const same = expected instanceof Uint8Array && actual instanceof Uint8Array && Buffer.compare(Buffer.from(expected), Buffer.from(actual)) === 0;
    if (!same) out.push(`${path}: expected ${describe(expected)}, got ${describe(actual)}`);
    return out;
  }
  if (typeof expected !== 'object' || typeof actual !== 'object' || expected === null || actual === null) {
    if (!Object.is(expected, actual)) out.push(`${path}: expected ${describe(expected)}, got ${describe(actual)}`);
    return out;
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) {
    out.push(`${path}: expected ${describe(expected)}, got ${describe(actual)}`);
    return out;
  }
  const fields = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const names = [...new Set([...fields(expected), ...fields(actual)])];
  for (const name of names) {
    fieldDiff((expected as Record<string, unknown>)[name], (actual as Record<string, unknown>)[name], Array.isArray(expected) ? `${path}[${name}]` : `${path}.${name}`, out);
  }
  return out;
}

/** Lookup results compared entity by entity, field by field: "key: field: expected, got" for each difference. */
export function compareLookups(expected: ReadonlyMap<string, IEntity>, actual: ReadonlyMap<string, IEntity>): string[] {
  const problems: string[] = [];
  for (const [id, e] of expected) {
    const a = actual.get(id);
    if (a === undefined) problems.push(`${id}: missing`);
    else problems.push(...fieldDiff(e, a).map((d) => `${id} ${d}`));
    if (problems.length >= 30) break;
  }
  for (const id of actual.keys()) if (!expected.has(id) && problems.length < 30) problems.push(`${id}: not expected`);
  return problems;
}

/**
 * An entity as Google's legacy emulator stores it: in every array, the indexed
 * values first, then the unindexed ones, each in their order (BACKENDS.md 11).
 */
export function asLegacyStores(entity: IEntity): IEntity {
  const value = (v: IValue): IValue => {
    if (v.arrayValue) {
      const values = (v.arrayValue.values ?? []).map(value);
      return { ...v, arrayValue: { ...v.arrayValue, values: [...values.filter((x) => !x.excludeFromIndexes), ...values.filter((x) => x.excludeFromIndexes)] } };
    }
    if (v.entityValue) return { ...v, entityValue: asLegacyStores(v.entityValue as IEntity) };
    return v;
  };
  const properties = entity.properties ? Object.fromEntries(Object.entries(entity.properties).map(([k, v]) => [k, value(v)])) : entity.properties;
  return { ...entity, properties };
}
