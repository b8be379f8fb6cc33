/**
 * The dump folder on disk, as dump uses it: what an earlier run left there
 * (refused, resumed — complete kinds kept only if size and sha256 still match — or replaced), the manifest rewritten atomically after
 * every kind (with the dspipe version that wrote it), and dump.log appended
 * line by line. Writes of one kind are chained, so the manifest on disk is
 * always the latest one handed over.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { appendFile, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DspipeError } from '../errors.js';
import { formatManifest, MANIFEST_FILE, parseManifest, type DumpManifest, type ManifestKind } from '../format/manifest.js';
import { createFileSink } from '../stages/file-sink.js';
import { DUMP_LOCK_FILE } from './dump-lock.js';

export const DUMP_LOG_FILE = 'dump.log';

let versionCache: string | undefined;
/** dspipe's own version, from the package.json above this module (dist/ or a build dir). */
export async function dspipeVersion(): Promise<string> {
  if (versionCache !== undefined) return versionCache;
  for (let up = '../../'; up.length < 30; up += '../') {
    try {
      const pkg = JSON.parse(await readFile(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dspipe' && pkg.version) return (versionCache = pkg.version);
    } catch {
      // not here; look one level up
    }
  }
  return (versionCache = '0.0.0');
}

/** Writes a file atomically (temp file in the same folder, fsync, rename), as the kind files are written. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await pipeline(Readable.from([Buffer.from(text, 'utf8')]), createFileSink(path));
}

/** The manifest of an earlier run in `dir`, if there is one. */
export async function readExistingManifest(dir: string): Promise<DumpManifest | undefined> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DspipeError('DSPIPE_IO', `cannot read ${file}: ${(err as Error).message}`, { file, cause: err });
  }
  return parseManifest(text, file);
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Holds nothing of a dump: at most our lock and a log (this run's warnings come before the folder is prepared). */
async function folderIsEmpty(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).every((name) => name === DUMP_LOCK_FILE || name === DUMP_LOG_FILE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** Temp files of a killed run (the file sink names kind files and manifests alike). */
async function removeStaleTempFiles(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /^\.dspipe-\d+-[0-9a-f]+\.tmp$/.test(entry.name)) {
      await rm(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name), { force: true });
    }
  }
}

/**
 * Decides what to do with what is already in the dump folder: refuses a
 * folder that holds something (unless `force` or `resume`), keeps the
 * complete kinds whose files are intact (`resume`), or removes the old dump
 * (`force`). Returns the kinds to keep.
 */
export async function prepareFolder(dir: string, previous: DumpManifest | undefined, o: { force: boolean; resume: boolean }): Promise<ManifestKind[]> {
  const where = { file: dir };
  if (previous === undefined) {
    if (!o.force && !o.resume && !(await folderIsEmpty(dir))) {
      throw new DspipeError('DSPIPE_DUMP_EXISTS', `${dir} exists and is not a dump`, { ...where, hint: 'pick another -n NAME, or pass --force to write into it' });
    }
    return [];
  }
  if (o.resume) {
    await removeStaleTempFiles(dir);
    const kept: ManifestKind[] = [];
    for (const k of previous.kinds) {
      if (!k.complete) continue;
      // Size first (cheap), then every byte: a damaged file of the same size is dumped again, not kept.
      const size = await stat(join(dir, k.file)).then((s) => s.size, () => -1);
      if (size === k.bytes && (await fileSha256(join(dir, k.file)).catch(() => '')) === k.sha256) kept.push(k);
    }
    return kept;
  }
  if (!o.force) {
    throw new DspipeError(
      'DSPIPE_DUMP_EXISTS',
      previous.complete ? `a complete dump is already at ${dir}` : `an unfinished dump is at ${dir}`,
      { ...where, hint: previous.complete ? 'pick another -n NAME, or pass --force to replace it' : 'pass --resume to finish it, or --force to start over' },
    );
  }
  // --force: the old manifest goes first, so a crash now never leaves a manifest describing replaced files.
  await rm(join(dir, MANIFEST_FILE), { force: true });
  for (const k of previous.kinds) await rm(join(dir, k.file), { force: true });
  await rm(join(dir, DUMP_LOG_FILE), { force: true });
  await removeStaleTempFiles(dir);
  return [];
}

/** The manifest and dump.log of one run, written in the order they are handed over. */
export class DumpFolder {
  private manifestChain: Promise<void> = Promise.resolve();
  private logChain: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  /** Appends a timestamped line to dump.log; a log that cannot be written never fails the dump. */
  log(line: string): void {
    const text = `${new Date().toISOString()} ${line}\n`;
    this.logChain = this.logChain.then(() => appendFile(join(this.dir, DUMP_LOG_FILE), text)).catch(() => {});
  }

  flushLog(): Promise<void> {
    return this.logChain;
  }

  writeManifest(manifest: DumpManifest): Promise<void> {
    const text = formatManifest(manifest);
    const next = this.manifestChain.then(() => writeFileAtomic(join(this.dir, MANIFEST_FILE), text));
    this.manifestChain = next.catch(() => {});
    return next;
  }
}
