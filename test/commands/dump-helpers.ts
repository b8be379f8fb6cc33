/** Reading dump folders back in tests: manifest, decoded lines, file listing. */
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve, relative, sep } from 'node:path';
import { DecompressStream } from 'zstd-napi';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { parseManifest, type DumpManifest } from '../../src/format/manifest.js';
import type { TestEmulator } from '../helpers/emulator.js';

export async function readManifest(dir: string): Promise<DumpManifest> {
  return parseManifest(await readFile(join(dir, 'manifest.json'), 'utf8'), join(dir, 'manifest.json'));
}

export async function decompress(bytes: Buffer): Promise<Buffer> {
  return buffer(Readable.from([bytes]).pipe(new DecompressStream()));
}

/** The NDJSON lines of one kind's file. */
export async function kindLines(dir: string, file: string, compression: 'zstd' | 'none' = 'zstd'): Promise<string[]> {
  const raw = await readFile(join(dir, file));
  const text = (compression === 'zstd' ? await decompress(raw) : raw).toString('utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Every file under dir, relative and '/'-separated; throws if anything resolves outside. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = resolve(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const rel = relative(resolve(dir), full);
    if (rel.startsWith('..') || resolve(dir, rel) !== full) throw new Error(`${full} is outside ${dir}`);
    out.push(rel.split(sep).join('/'));
  }
  return out.sort();
}

/** A manifest without its times, for comparing runs. */
export function timeless(m: DumpManifest): unknown {
  const { startedAt: _s, finishedAt: _f, readTime: _r, source: _src, ...rest } = m;
  return rest;
}

/**
 * test/stages/seed.ts's helpers are typed for a TestEmulator but use only its
 * connection and client, which every test backend has.
 */
export const seedTarget = (b: Pick<TestEmulator, 'connection' | 'client'>): TestEmulator => b as TestEmulator;
