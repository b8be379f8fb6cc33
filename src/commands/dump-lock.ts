/**
 * An exclusive lock on a dump folder, so two runs never write one folder at
 * once (a cron job overlapping the previous night's, a retry wrapper firing
 * while the first try still runs): their files would mix two snapshots under
 * one manifest. Taken by dump (also --resume) and by anything else that writes
 * a dump folder (convert), before the folder is looked at.
 *
 * The lock is a file, `.dspipe.lock`, created with O_EXCL (atomic on local
 * file systems and NFSv3+) holding who owns it: pid, host, command, start. A
 * lock left by a run that died on this host (its pid is gone) is stale and
 * taken over; one held by a live process, or by another host (whose processes
 * we cannot see), is refused with the owner named.
 *
 *   const lock = await lockDumpFolder(dir, 'dump');
 *   try { ... } finally { await lock.release(); }
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DspipeError } from '../errors.js';

export const DUMP_LOCK_FILE = '.dspipe.lock';

export interface DumpLockOwner {
  pid: number;
  host: string;
  /** What holds it, e.g. "dump" or "convert". */
  command: string;
  /** RFC 3339. */
  startedAt: string;
}

export interface DumpLock {
  readonly file: string;
  /** Removes the lock file (only if it is still ours). */
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(file: string): Promise<DumpLockOwner | 'unreadable' | 'gone'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return 'unreadable';
  }
  try {
    const o = JSON.parse(text) as Partial<DumpLockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') {
      return { pid: o.pid, host: o.host, command: String(o.command ?? '?'), startedAt: String(o.startedAt ?? '?') };
    }
  } catch {
    // fall through
  }
  return 'unreadable';
}

function locked(dir: string, file: string, what: string, hint: string): DspipeError {
  return new DspipeError('DSPIPE_DUMP_LOCKED', `${dir} is in use: ${what}`, { file, hint });
}

/**
 * Takes the folder's lock (the folder must exist), or refuses with
 * DSPIPE_DUMP_LOCKED naming the run that holds it. A stale lock (its process
 * is gone from this host) is replaced.
 */
export async function lockDumpFolder(dir: string, command: string): Promise<DumpLock> {
  const file = join(dir, DUMP_LOCK_FILE);
  const me: DumpLockOwner = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o644);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return {
        file,
        release: async () => {
          const owner = await readOwner(file);
          if (typeof owner === 'object' && owner.pid === me.pid && owner.host === me.host && owner.startedAt === me.startedAt) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DspipeError('DSPIPE_IO', `cannot create the lock file ${file}: ${(err as Error).message}`, { file, cause: err, hint: 'check that the dump folder is writable' });
      }
    }
    const owner = await readOwner(file);
    if (owner === 'gone') continue; // released meanwhile: try again
    if (owner === 'unreadable') {
      throw locked(dir, file, `its lock file ${DUMP_LOCK_FILE} cannot be read (a run killed while taking it?)`, `if no dspipe is writing this folder, delete ${file} and run again`);
    }
    const who = `${owner.command} (pid ${owner.pid} on ${owner.host}, started ${owner.startedAt})`;
    if (owner.host !== me.host) {
      throw locked(dir, file, `another run holds it: ${who}`, `wait for it to end; if it is gone, delete ${file} and run again`);
    }
    if (alive(owner.pid)) {
      throw locked(dir, file, `another run holds it: ${who}`, 'wait for it to end (or stop it), then run again; use another -n NAME to dump beside it');
    }
    // Stale: its process is gone. Move it aside atomically, so two runs taking over at once cannot both win.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await rename(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      continue;
    }
    const moved = await readOwner(aside);
    if (typeof moved === 'object' && (moved.pid !== owner.pid || moved.startedAt !== owner.startedAt)) {
      // Another run took the stale lock over first and we moved its fresh lock: put it back.
      await rename(aside, file).catch(() => {});
      continue;
    }
    await rm(aside, { force: true });
  }
  throw locked(dir, file, 'its lock kept changing hands', 'another dspipe is taking it: run again when it is done');
}
