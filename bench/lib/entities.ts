/**
 * Generated entities of realistic shape for the benchmarks, deterministic
 * (seeded PRNG) so every run and every repeat measures the same bytes:
 *
 *   small   ~250 B per NDJSON line (the key alone is ~120): an event row (string, int, timestamp)
 *   medium  ~2 KB: a document (text, tags, scores, key refs, geo, blob, nested address, nulls)
 *   large   ~200 KB: an attachment (100 KB blob, long unindexed text, a big int array)
 *   scale   ~1 KB: what scale.bench seeds by the million (medium-ish, cheaper to hold)
 *
 * All come back through the line codec once, so they have exactly the shape
 * the raw client returns (valueType set, Buffers for blobs, int64 as strings).
 */
import { decodeEntity, encodeEntity } from '../../src/format/entity-codec.js';
import type { IEntity, IValue } from '../../src/model/proto.js';
import { mulberry32 } from '../../src/prng.js';

export type Shape = 'small' | 'medium' | 'large' | 'scale';

export { mulberry32 as prng } from '../../src/prng.js';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'Zürich', 'naïve', '東京', 'emoji 😀', 'tab\there', 'quote"d', 'path/to', 'order', 'x'];

class Gen {
  readonly rand: () => number;
  constructor(seed: number) {
    this.rand = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  word(): string {
    return WORDS[this.int(WORDS.length)]!;
  }
  text(len: number): string {
    let s = '';
    while (s.length < len) s += this.word() + ' ';
    s = s.slice(0, len);
    // A lone surrogate is (rightly) refused by the codec: never cut an emoji in half.
    return /[\uD800-\uDBFF]$/.test(s) ? s.slice(0, -1) + '.' : s;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  ts(): IValue {
    return { timestampValue: { seconds: String(1_500_000_000 + this.int(200_000_000)), nanos: this.int(1_000_000) * 1000 } };
  }
}

/** Unique ids in scattered order (an odd multiplier is a bijection mod 2^32), as real ids are. */
export function scatteredId(i: number): string {
  return String(1 + ((i * 2654435761) % 2 ** 32));
}

function keyOf(kind: string, i: number, namespace = ''): IEntity['key'] {
  return { partitionId: { projectId: 'bench', databaseId: '', namespaceId: namespace }, path: [{ kind, id: scatteredId(i) }] };
}

function small(g: Gen, i: number, kind: string): IEntity {
  return {
    key: keyOf(kind, i),
    properties: {
      type: { stringValue: g.word() },
      count: { integerValue: String(g.int(100_000)) },
      at: g.ts(),
    },
  };
}

function medium(g: Gen, i: number, kind: string): IEntity {
  const props: Record<string, IValue> = {
    title: { stringValue: g.text(60) },
    body: { stringValue: g.text(120), excludeFromIndexes: true },
    tags: { arrayValue: { values: Array.from({ length: 8 }, () => ({ stringValue: g.word() })) } },
    scores: { arrayValue: { values: Array.from({ length: 6 }, () => ({ doubleValue: g.rand() * 1e6 })) } },
    owner: { keyValue: { partitionId: { projectId: 'bench', namespaceId: '' }, path: [{ kind: 'Account', name: `acct-${i % 97}` }, { kind: 'User', id: scatteredId(i + 7) }] } },
    where: { geoPointValue: { latitude: g.rand() * 180 - 90, longitude: g.rand() * 360 - 180 } },
    thumb: { blobValue: g.bytes(160), excludeFromIndexes: true },
    created: g.ts(),
    updated: g.ts(),
    version: { integerValue: String(1_234_567_890_123 + i) },
    deleted: { nullValue: 'NULL_VALUE' },
    address: {
      entityValue: {
        properties: {
          street: { stringValue: g.text(30) },
          city: { stringValue: g.text(12) },
          zip: { stringValue: String(10_000 + g.int(89_999)) },
          geo: { geoPointValue: { latitude: 47.37, longitude: 8.54 } },
          lines: { arrayValue: { values: Array.from({ length: 2 }, () => ({ entityValue: { properties: { sku: { stringValue: g.text(8) }, qty: { integerValue: String(g.int(9)) }, price: { doubleValue: g.int(10_000) / 100 } } } })) } },
        },
      },
    },
  };
  for (let f = 0; f < 8; f++) {
    props[`field_${f}`] = f % 3 === 0 ? { integerValue: String(g.int(1e9)) } : f % 3 === 1 ? { stringValue: g.text(20) } : { booleanValue: true };
  }
  return { key: keyOf(kind, i), properties: props };
}

function large(g: Gen, i: number, kind: string): IEntity {
  return {
    key: keyOf(kind, i),
    properties: {
      name: { stringValue: `file-${i}.bin` },
      data: { blobValue: g.bytes(95_000), excludeFromIndexes: true },
      text: { stringValue: g.text(50_000), excludeFromIndexes: true },
      samples: { arrayValue: { values: Array.from({ length: 700 }, () => ({ integerValue: String(g.int(2 ** 31)) })) } },
      at: g.ts(),
    },
  };
}

function scale(g: Gen, i: number, kind: string, namespace = ''): IEntity {
  return {
    key: keyOf(kind, i, namespace),
    properties: {
      name: { stringValue: `user ${i} ${g.text(g.int(40))}` },
      email: { stringValue: `user${i}@example.com` },
      age: { integerValue: String(g.int(90)) },
      score: { doubleValue: g.rand() * 1000 },
      active: { booleanValue: g.rand() < 0.5 },
      created: g.ts(),
      tags: { arrayValue: { values: [{ stringValue: g.word() }, { stringValue: g.word() }, { stringValue: `t${i % 50}` }] } },
      address: { entityValue: { properties: { street: { stringValue: `${i} Main St` }, city: { stringValue: g.word() }, zip: { stringValue: String(10_000 + g.int(89_999)) } } } },
      bio: { stringValue: g.text(60), excludeFromIndexes: true },
      ref: { keyValue: { partitionId: { projectId: 'bench', namespaceId: namespace }, path: [{ kind: 'Org', id: String(1 + (i % 1000)) }] } },
      nothing: { nullValue: 'NULL_VALUE' },
      blob: { blobValue: g.bytes(32) },
    },
  };
}

const MAKERS: Record<Shape, (g: Gen, i: number, kind: string) => IEntity> = { small, medium, large, scale };

/** `count` entities of `shape`, ids first+0 .. first+count-1, in client shape. */
export function makeEntities(shape: Shape, count: number, options: { first?: number; kind?: string; seed?: number } = {}): IEntity[] {
  const first = options.first ?? 0;
  const g = new Gen((options.seed ?? 1) * 7919 + first);
  const kind = options.kind ?? shape[0]!.toUpperCase() + shape.slice(1);
  const out: IEntity[] = [];
  for (let i = 0; i < count; i++) out.push(decodeEntity(encodeEntity(MAKERS[shape](g, first + i, kind))));
  return out;
}

/**
 * Scale entities straight in the request shape (no codec round trip: seeding
 * a million of them must be cheap), with the project left to the request.
 */
export function makeSeedEntity(g: () => number, i: number, kind: string): IEntity {
  const gen = Object.assign(Object.create(Gen.prototype) as Gen, { rand: g });
  const e = scale(gen, i, kind);
  e.key = { path: e.key!.path! };
  const ref = e.properties!.ref!.keyValue!;
  e.properties!.ref = { keyValue: { path: ref.path! } };
  return e;
}
