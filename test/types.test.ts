/**
 * The library's types as a user's TypeScript sees them: test/types/library-usage.ts
 * imports 'dspipe' and 'dspipe/stages' (this package's .d.ts, by self-reference)
 * and must compile, every `@ts-expect-error` line included — so a mistyped
 * option (`restore({ mode: 'insrt' })`) is a compile error. The same file
 * without those directives must fail on exactly those lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../test/types', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

async function tsc(config: string): Promise<{ code: number; out: string }> {
  try {
    await run(process.execPath, [TSC, '-p', config], { cwd: DIR, timeout: 120_000 });
    return { code: 0, out: '' };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? 1, out: e.stdout ?? '' };
  }
}

test('the public types: the fixture compiles, and each @ts-expect-error line is an error without its directive', async () => {
  const ok = await tsc('tsconfig.json');
  assert.equal(ok.code, 0, ok.out);

  const text = await readFile(join(DIR, 'library-usage.ts'), 'utf8');
  const lines = text.split('\n');
  const expected: number[] = [];
  const stripped = lines.map((line, i) => {
    if (!line.includes('// @ts-expect-error')) return line;
    expected.push(i + 2); // the next line, 1-based
    return '';
  });
  assert.ok(expected.length >= 5, 'the fixture holds its refusals');
  const probe = '.probe-library-usage.ts';
  const config = '.probe-tsconfig.json';
  await writeFile(join(DIR, probe), stripped.join('\n'));
  const base = JSON.parse(await readFile(join(DIR, 'tsconfig.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(DIR, config), JSON.stringify({ ...base, files: [probe] }));
  try {
    const bad = await tsc(config);
    assert.notEqual(bad.code, 0);
    const errorLines = [...new Set([...bad.out.matchAll(/\.probe-library-usage\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1])))];
    assert.deepEqual(errorLines, expected, bad.out);
  } finally {
    await rm(join(DIR, probe), { force: true });
    await rm(join(DIR, config), { force: true });
  }
});
