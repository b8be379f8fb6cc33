/**
 * Every package dspipe declares as a dependency is one its code loads: a
 * dependency nothing imports (as `ndjson` was, issue 15) costs every user an
 * install for nothing. Static imports, `import type` and dynamic `import()`
 * of src/ count; a subpath (`tsx/esm/api`) counts for its package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/package/dependencies.test.js -> the repo
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"]([^'".][^'"]*)['"]/gm;

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

test('every dependency and optional dependency in package.json is imported by src/', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
  const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
  assert.ok(declared.includes('@google-cloud/datastore'), 'read the right package.json');
  const imported = new Set<string>();
  for (const file of sources(join(REPO, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) if (!m[1]!.startsWith('node:')) imported.add(packageOf(m[1]!));
  }
  assert.deepEqual(declared.filter((name) => !imported.has(name)), [], 'declared but never imported: remove them (and say why in the README design notes)');
});
