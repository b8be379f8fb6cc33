/**
 * The demo's sample app data: users, their posts and comments (three-level
 * ancestor paths), references between them (also across namespaces), images
 * as blobs, two ~900 KiB unindexed values, and one kind holding every value
 * type Datastore has, with `meaning` and `excludeFromIndexes` — in the
 * default namespace and two tenants. Deterministic: the same call gives the
 * same entities, so tests can compare against it.
 */
import type { IEntity, IKey, IValue } from '../model/proto.js';
import { mulberry32 } from '../prng.js';

export interface DatasetOptions {
  projectId: string;
  databaseId?: string;
  /** Users per namespace (each with 3 posts and 2 comments per post). Default 20. */
  users?: number;
  /** Include the two ~900 KiB entities (default true). */
  large?: boolean;
}

export const DEMO_NAMESPACES = ['', 'tenant-a', 'tenant-b'] as const;


const WORDS = ['datastore', 'restore', 'entity', 'café', 'naïve', '東京', 'emoji 🎉', 'pipeline', 'stream', 'zstd', 'key', 'namespace'];

export function sampleDataset(options: DatasetOptions): IEntity[] {
  const { projectId, databaseId = '', users = 20, large = true } = options;
  const rand = mulberry32(20261122);
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  const text = (n: number) => Array.from({ length: n }, pick).join(' ');
  const key = (namespaceId: string, ...path: Array<[string, string | number]>): IKey => ({
    partitionId: { projectId, databaseId, namespaceId },
    path: path.map(([kind, id]) => (typeof id === 'number' ? { kind, id: String(id) } : { kind, name: id })),
  });
  const str = (s: string, excludeFromIndexes = false): IValue => ({ stringValue: s, ...(excludeFromIndexes && { excludeFromIndexes }) });
  const int = (n: number | string): IValue => ({ integerValue: String(n) });
  const ts = (ms: number, micros = 0): IValue => ({ timestampValue: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 + micros * 1000 } });
  const entities: IEntity[] = [];
  const base = Date.UTC(2026, 0, 1);

  for (const ns of DEMO_NAMESPACES) {
    for (let u = 1; u <= users; u++) {
      // realistic scattered ids, as Datastore's allocator hands them out
      const userId = 5_629_499_534_213_120 + u * 1_048_576 + Math.floor(rand() * 1000);
      const userKey = key(ns, ['User', userId]);
      entities.push({
        key: userKey,
        properties: {
          name: str(`user ${u} ${pick()}`),
          email: str(`user${u}@example.com`),
          age: int(18 + Math.floor(rand() * 60)),
          score: { doubleValue: Math.round(rand() * 1e6) / 100 },
          active: { booleanValue: rand() > 0.3 },
          joined: ts(base + u * 86_400_000, u),
          avatar: { blobValue: Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256))) },
          tags: { arrayValue: { values: [str(pick()), str(pick())] } },
          bio: str(text(300), true),
          home: { geoPointValue: { latitude: -45 + rand() * 90, longitude: -170 + rand() * 340 } },
          ...(ns !== '' && { account: { keyValue: key('', ['Account', `acct-${ns}`]) } }),
        },
      });
      for (let p = 1; p <= 3; p++) {
        const postKey = key(ns, ['User', userId], ['Post', p]);
        entities.push({
          key: postKey,
          properties: {
            title: str(text(5)),
            body: str(text(80), true),
            author: { keyValue: userKey },
            published: ts(base + u * 86_400_000 + p * 3_600_000),
            likes: int(Math.floor(rand() * 500)),
          },
        });
        for (let c = 1; c <= 2; c++) {
          entities.push({
            key: key(ns, ['User', userId], ['Post', p], ['Comment', `c${c}`]),
            properties: {
              text: str(text(12)),
              post: { keyValue: postKey },
              by: { keyValue: key(ns, ['User', 5_629_499_534_213_120 + (((u + c) % users) + 1) * 1_048_576]) },
            },
          });
        }
      }
    }
  }
  for (const ns of ['tenant-a', 'tenant-b']) {
    entities.push({ key: key('', ['Account', `acct-${ns}`]), properties: { plan: str('pro'), seats: int(25) } });
  }

  // Every value type, with meaning and excludeFromIndexes, nested.
  const everyType: Record<string, IValue> = {
    nothing: { nullValue: 'NULL_VALUE' },
    yes: { booleanValue: true },
    no: { booleanValue: false },
    zero: int(0),
    maxInt: int('9223372036854775807'),
    minInt: int('-9223372036854775808'),
    pi: { doubleValue: Math.PI },
    one: { doubleValue: 1 },
    negZero: { doubleValue: -0 },
    nan: { doubleValue: NaN },
    inf: { doubleValue: Infinity },
    negInf: { doubleValue: -Infinity },
    epoch: ts(0),
    micros: ts(base, 123),
    ancient: { timestampValue: { seconds: '-62135596800', nanos: 0 } },
    text: str('UTF-8: héllo wörld 東京 🎉 \u0000 nul'),
    empty: str(''),
    blob: { blobValue: Buffer.from([0, 1, 2, 253, 254, 255]) },
    emptyBlob: { blobValue: Buffer.alloc(0) },
    where: { geoPointValue: { latitude: 37.4220656, longitude: -122.0840897 } },
    ref: { keyValue: key('tenant-a', ['User', 5_629_499_534_213_120 + 1_048_576]) },
    foreignRef: { keyValue: { partitionId: { projectId: 'some-other-app', databaseId: '', namespaceId: '' }, path: [{ kind: 'Elsewhere', name: 'x' }] } },
    emptyList: { arrayValue: { values: [] } },
    mixed: { arrayValue: { values: [int(1), str('two'), { doubleValue: 3.5 }, { nullValue: 'NULL_VALUE' }, { keyValue: key('', ['Tag', 'a']) }] } },
    unindexedList: { arrayValue: { values: [str('x'.repeat(2000), true), str('y', true)] }, excludeFromIndexes: false },
    address: {
      entityValue: {
        properties: {
          street: str('1600 Amphitheatre Pkwy'),
          notes: str('n'.repeat(3000), true),
          geo: { geoPointValue: { latitude: 1.5, longitude: 2.5 } },
        },
      },
    },
    keyedEmbedded: { entityValue: { key: key('', ['Embedded', 7]), properties: { n: int(7) } } },
    nested: {
      arrayValue: {
        values: [
          { entityValue: { properties: { inner: { arrayValue: { values: [{ entityValue: { properties: { deep: { keyValue: key('tenant-b', ['User', 5_629_499_534_213_120 + 2 * 1_048_576]) } } } }] } } } } },
        ],
      },
    },
    // meanings Datastore keeps (15 TEXT is for unindexed strings only; Google's emulators refuse it elsewhere)
    withMeaning: { stringValue: '42', meaning: 15, excludeFromIndexes: true },
    gdBlob: { blobValue: Buffer.from('ZGF0YQ==', 'base64'), meaning: 16, excludeFromIndexes: true },
    textMeaning: { stringValue: 'long text', meaning: 15, excludeFromIndexes: true },
  };
  entities.push({ key: key('', ['EveryType', 1]), properties: everyType });
  entities.push({ key: key('tenant-b', ['EveryType', 'named']), properties: { ...everyType, nothing: str('different') } });
  entities.push({ key: key('', ['Tag', 'a']), properties: { label: str('a') } });

  if (large) {
    const blob = Buffer.alloc(900 * 1024);
    for (let i = 0; i < blob.length; i++) blob[i] = Math.floor(rand() * 256);
    entities.push({ key: key('', ['Image', 1]), properties: { data: { blobValue: blob, excludeFromIndexes: true }, mime: str('application/octet-stream') } });
    entities.push({ key: key('tenant-a', ['Document', 'big']), properties: { body: str('lorem ipsum '.repeat(75 * 1024), true), pages: int(300) } });
  }
  return entities;
}
