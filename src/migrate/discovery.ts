/**
 * Finding migration scripts: every `.ts`, `.mts`, `.js` or `.mjs` file in the
 * migrations folder (not `.d.ts`, not names starting with `.` or `_`, which
 * leaves room for shared helpers), run in ascending name order — so name them
 * to sort: `0001-birthday-to-string.ts`. A migration's name is its file name
 * without the extension; its checksum is the sha256 of the file's bytes.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DspipeError } from '../errors.js';

export interface MigrationFile {
  /** File name without extension: the migration's identity in DspipeMigration. */
  name: string;
  /** Absolute path. */
  file: string;
  /** sha256 (hex) of the file's bytes. */
  checksum: string;
}

const SCRIPT_RE = /^(?![._])(.+?)\.(ts|mts|js|mjs)$/;

/** The script files among a folder's entries, sorted by name; pure, for testing. */
export function selectScripts(fileNames: readonly string[], dir = '.'): Array<{ name: string; fileName: string }> {
  const byName = new Map<string, string>();
  for (const fileName of fileNames) {
    if (fileName.endsWith('.d.ts') || fileName.endsWith('.d.mts')) continue;
    const m = SCRIPT_RE.exec(fileName);
    if (m === null) continue;
    const name = m[1]!;
    const other = byName.get(name);
    if (other !== undefined) {
      throw new DspipeError('DSPIPE_INVALID_OPTION', `two scripts share the migration name ${JSON.stringify(name)}: ${other} and ${fileName}`, {
        file: join(dir, fileName),
        hint: 'keep one of them (a compiled .js beside its .ts is a common cause)',
      });
    }
    byName.set(name, fileName);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, fileName]) => ({ name, fileName }));
}

export function checksumOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function discoverMigrations(dir: string): Promise<MigrationFile[]> {
  const abs = resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(abs, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DspipeError('DSPIPE_NOT_FOUND', 'migrations folder not found', {
        file: dir,
        hint: `create it with a script such as ${join(dir, '0001-first-change.ts')}, or point --dir at your folder`,
      });
    }
    throw new DspipeError('DSPIPE_IO', `cannot read the migrations folder: ${(err as Error).message}`, { file: dir, cause: err });
  }
  const out: MigrationFile[] = [];
  for (const { name, fileName } of selectScripts(entries, dir)) {
    const file = join(abs, fileName);
    out.push({ name, file, checksum: checksumOf(await readFile(file)) });
  }
  return out;
}
