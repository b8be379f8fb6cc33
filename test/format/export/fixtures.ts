/**
 * Reads the committed export fixtures (test/fixtures/exports, made by
 * test/fixtures/make-exports.ts) with the pure codec only, whole files in
 * memory: what the codec tests compare against.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeBackup, decodeOverallMetadata, OVERALL_SUFFIX, readRecords, type ExportPointer } from '../../../src/format/export/index.js';

export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/exports');
export const FIXTURE_NAMES = ['every-value', 'filtered'] as const;

export interface FixtureFile {
  path: string;
  bytes: Buffer;
  records: Buffer[];
}

export interface Fixture {
  folder: string;
  overallFile: string;
  pointers: ExportPointer[];
  files: FixtureFile[];
  /** Sorted canonical lines of Lookup of the exported keys. */
  expected: string[];
}

export function loadFixture(name: string): Fixture {
  const folder = join(FIXTURES, name, 'export');
  const overallFile = join(folder, readdirSync(folder).find((f) => f.endsWith(OVERALL_SUFFIX))!);
  const pointers = decodeOverallMetadata(readFileSync(overallFile), overallFile);
  const files: FixtureFile[] = [];
  for (const p of pointers) {
    const meta = join(folder, p.metadataFile);
    for (const f of decodeBackup(readFileSync(meta), meta).files) {
      const path = join(dirname(meta), f);
      const bytes = readFileSync(path);
      files.push({ path, bytes, records: readRecords(bytes, path) });
    }
  }
  const expected = readFileSync(join(FIXTURES, name, 'expected.ndjson'), 'utf8').split('\n').filter((l) => l !== '');
  return { folder, overallFile, pointers, files, expected };
}
