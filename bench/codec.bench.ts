/**
 * The line codec against its ceiling: encodeEntity vs JSON.stringify of the
 * same line's plain JSON tree, decodeEntity vs JSON.parse of the same line,
 * measured interleaved in one process so both see the same machine.
 *
 *   node .build/codec/bench/codec.bench.js [--quick]
 *
 * Prints one JSON report on stdout (bench/lib/report.ts); progress on stderr.
 */
import { decodeEntity, encodeEntity } from '../src/format/entity-codec.js';
import type { IEntity, IValue } from '../src/model/proto.js';
import { emitReport, isQuick, progress, type BenchRow } from './lib/report.js';
import { median } from './lib/stats.js';

const quick = isQuick();
// Many short pairs, each codec slice right beside its ceiling slice (order
// alternating), so load from other processes hits both sides of a ratio alike.
const PAIRS = quick ? 8 : 24;
const MIN_MS = quick ? 40 : 60;

let seed = 42;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function int(n: number): number {
  return Math.floor(rand() * n);
}
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'Zürich', 'naïve', '東京', 'emoji 😀', 'tab\there', 'quote"d', 'path/to', 'x'];
function text(len: number): string {
  let s = '';
  while (s.length < len) s += WORDS[int(WORDS.length)]! + ' ';
  s = s.slice(0, len);
  // Never cut an emoji in half: a lone surrogate is (rightly) refused.
  return /[\uD800-\uDBFF]$/.test(s) ? s.slice(0, -1) + '.' : s;
}
function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}
function key(kind: string, i: number): object {
  return { partitionId: { projectId: 'bench-project', databaseId: '', namespaceId: 'tenant-7' }, path: [{ kind: 'Account', name: `acct-${i % 97}` }, { kind, id: String(5629499534213120 + i) }] };
}
function ts(): IValue {
  return { timestampValue: { seconds: String(1500000000 + int(200000000)), nanos: int(1000000) * 1000 } };
}

function small(i: number): object {
  return {
    key: { partitionId: { projectId: 'bench-project', databaseId: '', namespaceId: '' }, path: [{ kind: 'Event', id: String(5629499534213120 + i) }] },
    properties: {
      type: { stringValue: WORDS[i % WORDS.length] },
      count: { integerValue: String(int(100000)) },
      at: ts(),
    },
  };
}

function medium(i: number): object {
  const props: Record<string, IValue> = {
    title: { stringValue: text(60) },
    body: { stringValue: text(400), excludeFromIndexes: true },
    tags: { arrayValue: { values: Array.from({ length: 8 }, () => ({ stringValue: WORDS[int(WORDS.length)] })) } },
    scores: { arrayValue: { values: Array.from({ length: 10 }, () => ({ doubleValue: rand() * 1e6 })) } },
    owner: { keyValue: key('User', i + 1) },
    where: { geoPointValue: { latitude: rand() * 180 - 90, longitude: rand() * 360 - 180 } },
    thumb: { blobValue: bytes(120), excludeFromIndexes: true },
    created: ts(),
    updated: ts(),
    version: { integerValue: String(1234567890123 + i) },
    deleted: { nullValue: 'NULL_VALUE' },
    address: {
      entityValue: {
        properties: {
          street: { stringValue: text(30) },
          city: { stringValue: text(12) },
          zip: { stringValue: String(10000 + int(89999)) },
          geo: { geoPointValue: { latitude: 47.37, longitude: 8.54 } },
        },
      },
    },
  };
  for (let f = 0; f < 6; f++) props[`field_${f}`] = f % 3 === 0 ? { integerValue: String(int(1e9)) } : f % 3 === 1 ? { stringValue: text(20) } : { booleanValue: true };
  return { key: key('Document', i), properties: props };
}

function large(i: number): object {
  return {
    key: key('Attachment', i),
    properties: {
      name: { stringValue: `file-${i}.bin` },
      data: { blobValue: bytes(100000), excludeFromIndexes: true },
      text: { stringValue: text(50000), excludeFromIndexes: true },
      samples: { arrayValue: { values: Array.from({ length: 500 }, () => ({ integerValue: String(int(2 ** 31)) })) } },
      at: ts(),
    },
  };
}

function nestedEntity(i: number): object {
  const level = (depth: number): IValue => ({
    entityValue: {
      properties: {
        name: { stringValue: text(15) },
        n: { integerValue: String(depth) },
        items: { arrayValue: { values: Array.from({ length: 3 }, () => ({ entityValue: { properties: { sku: { stringValue: text(8) }, qty: { integerValue: String(int(9)) }, price: { doubleValue: int(10000) / 100 } } } })) } },
        ...(depth > 0 ? { child: level(depth - 1) } : {}),
      },
    },
  });
  return { key: key('Order', i), properties: { root: level(5), at: ts() } };
}

interface Workload {
  name: string;
  entities: IEntity[];
  lines: string[];
  trees: unknown[];
  bytes: number;
}

function workload(name: string, make: (i: number) => object, count: number): Workload {
  // Through the codec once, so the entities have exactly the shape the
  // Datastore client returns (valueType, defaults, Buffers).
  const entities = Array.from({ length: count }, (_, i) => decodeEntity(encodeEntity(make(i) as IEntity)));
  const lines = entities.map((e) => encodeEntity(e));
  const trees = lines.map((l) => JSON.parse(l) as unknown);
  const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
  return { name, entities, lines, trees, bytes };
}

let sink = 0;
/** Entities per second of `fn` over the whole workload, repeated for at least MIN_MS. */
function rate(count: number, fn: () => void): number {
  fn(); // warm
  let done = 0;
  const start = process.hrtime.bigint();
  let ms = 0;
  while (ms < MIN_MS) {
    fn();
    done += count;
    ms = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (done * 1000) / ms;
}

function pair(count: number, r: number, mine: () => void, ceiling: () => void): [number, number] {
  if (r % 2 === 0) {
    const a = rate(count, mine);
    return [a, rate(count, ceiling)];
  }
  const c = rate(count, ceiling);
  return [rate(count, mine), c];
}

function measure(w: Workload): BenchRow[] {
  const n = w.entities.length;
  const { entities, lines, trees } = w;
  const encode = () => {
    // Buffer.byteLength on both sides: it forces our concatenated (rope)
    // string flat, as writing it out will; JSON.stringify's is flat already.
    for (let i = 0; i < n; i++) sink += Buffer.byteLength(encodeEntity(entities[i]!));
  };
  const stringify = () => {
    for (let i = 0; i < n; i++) sink += Buffer.byteLength(JSON.stringify(trees[i]));
  };
  const decode = () => {
    for (let i = 0; i < n; i++) sink += decodeEntity(lines[i]!).key === null ? 1 : 0;
  };
  const parse = () => {
    for (let i = 0; i < n; i++) sink += JSON.parse(lines[i]!) === null ? 1 : 0;
  };
  const enc: Array<[number, number]> = [];
  const dec: Array<[number, number]> = [];
  for (let r = 0; r < PAIRS; r++) {
    enc.push(pair(n, r, encode, stringify));
    dec.push(pair(n, r, decode, parse));
  }
  const perEntity = w.bytes / n / 1e6;
  const row = (op: string, pairs: Array<[number, number]>): BenchRow => {
    const m = median(pairs.map((p) => p[0]));
    const c = median(pairs.map((p) => p[1]));
    return {
      name: `${op} ${w.name}`,
      entitiesPerSec: Math.round(m),
      mbPerSec: +(m * perEntity).toFixed(1),
      ceilingEntitiesPerSec: Math.round(c),
      ceilingMbPerSec: +(c * perEntity).toFixed(1),
      // Median of the per-pair ratios: steadier than a ratio of medians under load.
      ratio: +median(pairs.map((p) => p[0] / p[1])).toFixed(3),
      bytesPerEntity: Math.round(w.bytes / n),
    };
  };
  return [row('encode', enc), row('decode', dec)];
}

const workloads: Array<[string, (i: number) => object, number]> = [
  ['small', small, quick ? 500 : 2000],
  ['medium', medium, quick ? 100 : 400],
  ['large', large, quick ? 4 : 12],
  ['nested', nestedEntity, quick ? 50 : 200],
];

const rows: BenchRow[] = [];
for (const [name, make, count] of workloads) {
  const w = workload(name, make, count);
  progress(`codec: ${name} (${count} entities, ~${Math.round(w.bytes / count)} B each), ${PAIRS} pairs`);
  for (const r of measure(w)) {
    rows.push(r);
    progress(`  ${r.name}: ${r.entitiesPerSec} entities/s, ${r.mbPerSec} MB/s, ${(Number(r.ratio) * 100).toFixed(0)}% of JSON (${r.ceilingMbPerSec} MB/s)`);
  }
}
emitReport({
  scenario: 'codec',
  rows,
  notes: [
    'ceiling: encode vs JSON.stringify of the line as a plain JSON tree (both followed by Buffer.byteLength), decode vs JSON.parse of the line',
    `medians of ${PAIRS} interleaved pairs of >= ${MIN_MS} ms slices; checksum ${sink % 10}`,
  ],
});
