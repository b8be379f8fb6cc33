/**
 * Runs a test against the Datastore named by DSPIPE_TEST_BACKEND:
 *
 *   dspipe     (default) dspipe's own emulator, in-process, one per startTestBackend() call
 *   legacy     Google's legacy Datastore emulator (cloud_datastore_emulator)
 *   firestore  Google's Firestore emulator in Datastore mode (cloud_firestore_emulator)
 *
 * The Google emulators are JVMs that take seconds to start, so each test process
 * (each test file under `node --test`) starts at most one of them, on first use,
 * and shares it. Tests are kept apart by project id: every startTestBackend() and
 * fresh() gets a new `dspipe-test-<n>-<random>` project, and a project's data is
 * invisible from any other on all three backends (checked in backend.test.ts).
 * When no handle on a Google emulator is open any more it is sent `POST /reset`,
 * so that data does not pile up in its memory over a long test file.
 *
 *   const t = await startTestBackend();
 *   after(() => t.close());
 *   await t.client.commit({ projectId: t.connection.projectId, mode: 'NON_TRANSACTIONAL', mutations });
 *
 *   DSPIPE_TEST_BACKEND=legacy node --test dist/test/...
 *
 * The Google emulators are not in npm or Debian; asking for one where they are not
 * installed fails with a message that says what is missing (see
 * googleEmulatorsInstalled() to skip instead).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Datastore } from '@google-cloud/datastore';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { closeClients } from './emulator.js';
import {
  createClient,
  createDatastore,
  resolveConnection,
  type Connection,
  type DatastoreClient,
} from '../../src/datastore/connection.js';

export type BackendName = 'dspipe' | 'legacy' | 'firestore';
export type GoogleBackendName = Exclude<BackendName, 'dspipe'>;
export const BACKEND_NAMES: readonly BackendName[] = ['dspipe', 'legacy', 'firestore'];

/** The backend tests run against: DSPIPE_TEST_BACKEND, default 'dspipe'. */
export function backendName(env: NodeJS.ProcessEnv = process.env): BackendName {
  const raw = (env.DSPIPE_TEST_BACKEND ?? '').trim();
  if (raw === '') return 'dspipe';
  if ((BACKEND_NAMES as readonly string[]).includes(raw)) return raw as BackendName;
  throw new Error(`DSPIPE_TEST_BACKEND=${JSON.stringify(raw)} is not one of ${BACKEND_NAMES.join(', ')}`);
}

/** A tag for test names, e.g. `[legacy]`. */
export function describeBackend(name: BackendName = backendName()): string {
  return `[${name}]`;
}

// ---------------------------------------------------------------------------
// Where the backends differ (BACKENDS.md, "Differences seen"; /tmp/issue11-findings.md)

/**
 * What a backend does where the three differ, for tests that keep their strong
 * assertion where a backend can hold it and assert what dspipe promises where
 * it cannot (never a silent weakening).
 */
export interface BackendTraits {
  /** Reports a read time and reads at the one it is sent (difference 2): not legacy. */
  readTimes: boolean;
  /** Answers `__namespace__` and `__kind__` queries (3): not firestore, which refuses them. */
  listsKinds: boolean;
  /** `__property__` lists indexed properties (3): not firestore, which returns nothing. */
  listsProperties: boolean;
  /** A stale base_version is reported as a conflict and not written (8): not firestore. */
  baseVersion: boolean;
  /**
   * Takes any namespace string. Real Datastore and all three emulators allow only
   * [0-9A-Za-z._-]{0,100} ("Illegal string "a/b" in namespace id."): false everywhere
   * since dspipe's emulator enforces it too (issue 16); kept for tests written against it.
   */
  anyNamespace: boolean;
  /** dspipe's emulator, in this process: fault injection, latency, internals. */
  dspipeEmulator: boolean;
}

export const BACKEND_TRAITS: Readonly<Record<BackendName, Readonly<BackendTraits>>> = {
  dspipe: { readTimes: true, listsKinds: true, listsProperties: true, baseVersion: true, anyNamespace: false, dspipeEmulator: true },
  legacy: { readTimes: false, listsKinds: true, listsProperties: true, baseVersion: true, anyNamespace: false, dspipeEmulator: false },
  firestore: { readTimes: true, listsKinds: false, listsProperties: false, baseVersion: false, anyNamespace: false, dspipeEmulator: false },
};

export function backendTraits(name: BackendName = backendName()): Readonly<BackendTraits> {
  return BACKEND_TRAITS[name];
}

/** The options of node:test's test(): what these helpers return. */
export interface BackendTestOptions {
  skip?: string;
  todo?: string;
}

/**
 * For a test that needs what only dspipe's emulator has (fault injection,
 * latency, its internals): runs there, skipped with `reason` on the others.
 *
 *   test('retries injected faults', dspipeOnly('needs dspipe emulator fault injection'), async () => ...)
 */
export function dspipeOnly(reason: string, name: BackendName = backendName()): BackendTestOptions {
  return name === 'dspipe' ? {} : { skip: reason };
}

/** Marks a test todo on the backends named (a known dspipe bug there), with the exact reason. */
export function todoOn(backends: BackendName | readonly BackendName[], reason: string, name: BackendName = backendName()): BackendTestOptions {
  const on: readonly BackendName[] = typeof backends === 'string' ? [backends] : backends;
  return on.includes(name) ? { todo: reason } : {};
}

/**
 * The `--namespaces` value a command needs on this backend to see `namespaces`:
 * undefined where the backend lists namespaces (so dspipe's own discovery is
 * what the test exercises), else the list, because Google's Firestore emulator
 * refuses `__namespace__` and dspipe then reads the default namespace only.
 */
export function namespacesToName(namespaces: Iterable<string>, name: BackendName = backendName()): string | undefined {
  if (BACKEND_TRAITS[name].listsKinds) return undefined;
  return [...new Set(namespaces)].map((ns) => (ns === '' ? '(default)' : ns)).join(',');
}

// ---------------------------------------------------------------------------
// Where the Google emulators are

const SCRIPTS: Record<GoogleBackendName, string> = {
  legacy: 'platform/cloud-datastore-emulator/cloud_datastore_emulator',
  firestore: 'platform/cloud-firestore-emulator/cloud_firestore_emulator',
};

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const onPath = (command: string): string | undefined => {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, command))) return join(dir, command);
  }
  return undefined;
};

let sdkRootCache: string | null | undefined;

/**
 * The Cloud SDK's root (what `gcloud info --format='value(installation.sdk_root)'`
 * prints): CLOUDSDK_ROOT_DIR, else found from `gcloud` on PATH, else the
 * Debian package's /usr/lib/google-cloud-sdk, else asked of gcloud.
 */
export function sdkRoot(): string | undefined {
  if (sdkRootCache !== undefined) return sdkRootCache ?? undefined;
  const candidates: string[] = [];
  if (process.env.CLOUDSDK_ROOT_DIR) candidates.push(process.env.CLOUDSDK_ROOT_DIR);
  const gcloud = onPath('gcloud');
  if (gcloud !== undefined) {
    try {
      candidates.push(dirname(dirname(realpathSync(gcloud)))); // <root>/bin/gcloud
    } catch {
      // a dangling link: try the others
    }
  }
  candidates.push('/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/google-cloud-sdk');
  let found = candidates.find((root) => Object.values(SCRIPTS).some((s) => isExecutable(join(root, s))));
  if (found === undefined && gcloud !== undefined) {
    try {
      const out = execFileSync(gcloud, ['info', '--format=value(installation.sdk_root)'], {
        encoding: 'utf8',
        timeout: 15_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
      if (out !== '') found = out;
    } catch {
      // no answer: not installed as far as we can tell
    }
  }
  sdkRootCache = found ?? null;
  return found;
}

/** Whether both Google emulators and a `java` to run them are here; `why` says what is missing. */
export function googleEmulatorsInstalled(): { ok: boolean; why?: string } {
  const missing: string[] = [];
  const root = sdkRoot();
  if (root === undefined) {
    missing.push('the Google Cloud SDK (no gcloud on PATH, no CLOUDSDK_ROOT_DIR, no /usr/lib/google-cloud-sdk)');
  } else {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      if (!isExecutable(join(root, script))) {
        const pkg = name === 'legacy' ? 'google-cloud-cli-datastore-emulator' : 'google-cloud-cli-firestore-emulator';
        missing.push(`${join(root, script)} (install ${pkg})`);
      }
    }
  }
  const java = process.env.JAVA || 'java'; // the start scripts run ${JAVA:-java}
  if (onPath(java) === undefined) missing.push(`${java} on PATH (the emulators need Java 11+)`);
  return missing.length === 0 ? { ok: true } : { ok: false, why: `Google's emulators are not usable here: missing ${missing.join('; ')}` };
}

// ---------------------------------------------------------------------------
// One Google emulator process

export interface GoogleEmulatorProcess {
  name: GoogleBackendName;
  host: string;
  port: number;
  /** '127.0.0.1:port', the value for DATASTORE_EMULATOR_HOST. */
  address: string;
  pid: number;
  /** The last few KB of what the emulator wrote (stdout and stderr). */
  outputTail(): string;
  /** `POST /reset`: drops every project's data. */
  reset(): Promise<void>;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once all of it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** A port that was free a moment ago (listen on 0, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}

/*
 * The start scripts are bash running java as a child, so the emulator is started
 * in its own process group (detached) under this small wrapper, and stopped by
 * signalling the group. The wrapper also holds a watchdog on a pipe from us: when
 * this Node process goes away by any means (even SIGKILL) the pipe reaches EOF and
 * the watchdog takes the group down, so no JVM outlives its test run. The watchdog
 * ignores SIGTERM so that it can follow up with SIGKILL, and removes the legacy
 * emulator's data directory (which a process that dies at once cannot).
 */
const WRAPPER = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  `( trap '' TERM; cat <&3 >/dev/null; kill -TERM -- -$$; sleep 5; [ -z "$DSPIPE_EMULATOR_DATA_DIR" ] || rm -rf -- "$DSPIPE_EMULATOR_DATA_DIR"; kill -KILL -- -$$ ) </dev/null >/dev/null 2>&1 &`,
  'exec 3<&-',
  'wait "$child"',
].join('\n');

const TAIL_BYTES = 4000;
const START_TIMEOUT_MS = 60_000;

/** Starts one Google emulator on a free port and waits until it answers `GET /`. Not shared: stop it yourself. */
export async function startGoogleEmulatorProcess(
  name: GoogleBackendName,
  options: { timeoutMs?: number } = {},
): Promise<GoogleEmulatorProcess> {
  const installed = googleEmulatorsInstalled();
  if (!installed.ok) throw new Error(`cannot start the ${name} emulator. ${installed.why}`);
  let lastError: unknown;
  // A port found free can be taken before the JVM binds it; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(name, await freePort(), options.timeoutMs ?? START_TIMEOUT_MS);
    } catch (err) {
      lastError = err;
      if (!/address already in use|BindException/i.test(String((err as Error).message))) break;
    }
  }
  throw lastError;
}

async function startOnce(name: GoogleBackendName, port: number, timeoutMs: number): Promise<GoogleEmulatorProcess> {
  const host = '127.0.0.1';
  const script = join(sdkRoot()!, SCRIPTS[name]);
  let dataDir: string | undefined;
  const args = [`--host=${host}`, `--port=${port}`];
  if (name === 'legacy') {
    dataDir = mkdtempSync(join(tmpdir(), 'dspipe-legacy-emulator-'));
    args.push('--store_on_disk=false', '--consistency=1.0', dataDir);
  } else {
    args.push('--database-mode=datastore-mode');
  }
  const child: ChildProcess = spawn('bash', ['-c', WRAPPER, 'dspipe-emulator-wrapper', script, 'start', ...args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, DSPIPE_EMULATOR_DATA_DIR: dataDir ?? '' },
  });
  const pid = child.pid;
  if (pid === undefined) {
    await new Promise((resolve) => child.once('error', resolve));
    throw new Error(`could not spawn bash to start the ${name} emulator`);
  }
  // Nothing here keeps the test process alive: it exits when its tests are done.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?(): void } | null)?.unref?.();

  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
  });
  // All pipes closed = every process of the group that held them is gone.
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already
    }
  };
  const onExit = () => signalGroup('SIGTERM'); // the watchdog follows up once our pipe closes
  process.once('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> =>
    (stopping ??= (async () => {
      process.removeListener('exit', onExit);
      (child.stdin as Writable | null)?.destroy();
      signalGroup('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        gone.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        signalGroup('SIGKILL');
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      }
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    })());

  const url = `http://${host}:${port}/`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await stop(1000);
      throw new Error(`the ${name} emulator (${script}) ${exited} before answering ${url}; its output ended:\n${tail}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.text();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`the ${name} emulator (${script}) did not answer ${url} within ${timeoutMs / 1000} s; its output ended:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  return {
    name,
    host,
    port,
    address: `${host}:${port}`,
    pid,
    outputTail: () => tail,
    reset: async () => {
      const res = await fetch(`${url}reset`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
      const body = await res.text();
      if (!res.ok) throw new Error(`POST ${url}reset: HTTP ${res.status} ${body}`);
    },
    stop,
  };
}

// ---------------------------------------------------------------------------
// Servers shared by the handles

interface Server {
  name: BackendName;
  address: string;
  /** Counts a handle; resolves once the server is ready for it. */
  acquire(): Promise<void>;
  release(): Promise<void>;
}

function dspipeServer(emulator: Emulator): Server {
  let open = 0;
  let stopped = false;
  return {
    name: 'dspipe',
    address: emulator.address,
    acquire: async () => {
      if (stopped) throw new Error('fresh() on a dspipe emulator whose handles are all closed: call startTestBackend() instead');
      open++;
    },
    release: async () => {
      if (--open === 0) {
        stopped = true;
        await emulator.stop();
      }
    },
  };
}

/** The Google emulator this process shares, by name; started on first use. */
const google = new Map<GoogleBackendName, { started: Promise<GoogleEmulatorProcess>; server: Promise<Server> }>();

function googleServer(name: GoogleBackendName): Promise<Server> {
  let entry = google.get(name);
  if (entry === undefined) {
    const started = startGoogleEmulatorProcess(name);
    let open = 0;
    let resetting: Promise<void> = Promise.resolve();
    const server = started.then(
      (proc): Server => ({
        name,
        address: proc.address,
        acquire: async () => {
          open++;
          await resetting;
        },
        release: async () => {
          if (--open === 0) {
            // Nobody can see the data any more: drop it so memory does not grow over a file.
            resetting = proc.reset().catch(() => undefined);
            await resetting;
          }
        },
      }),
    );
    entry = { started, server };
    google.set(name, entry);
    // A failed start is not cached: the next test tries again (and reports again).
    server.catch(() => google.delete(name));
  }
  return entry.server;
}

/** Stops the shared Google emulators now (they otherwise stop when the process exits). */
export async function stopGoogleEmulators(): Promise<void> {
  const entries = [...google.values()];
  google.clear();
  await Promise.all(entries.map((e) => e.started.then((p) => p.stop(), () => undefined)));
}

// ---------------------------------------------------------------------------
// Handles

export interface TestBackendOptions {
  /** Which backend; default the one DSPIPE_TEST_BACKEND names (for tests that use several at once). */
  backend?: BackendName;
  /** Project id, used as given; default a fresh `dspipe-test-<n>-<random>` per call (what isolates tests). */
  projectId?: string;
  /** Named database; default '' (the `(default)` database). */
  databaseId?: string;
}

export interface TestBackend {
  name: BackendName;
  /** host:port, the value for DATASTORE_EMULATOR_HOST / --emulator-host. */
  emulatorHost: string;
  connection: Connection;
  /** Raw GAPIC v1.DatastoreClient (what dspipe itself uses). */
  client: DatastoreClient;
  /** High-level client. */
  datastore: Datastore;
  /**
   * Another handle on the same server with a new, empty project (same databaseId,
   * or the one given). Close it too. A test that wants a named database of its own
   * asks for it here rather than beside other databases of one project: Google's
   * legacy emulator keeps Lookup apart by database, but its RunQuery returns the
   * entities of every database of the project (seen 2026-12-01).
   */
  fresh(options?: { databaseId?: string }): Promise<TestBackend>;
  /** Closes this handle's clients; the server goes when its last handle closes (Google's: at process exit). */
  close(): Promise<void>;
}

let projectCounter = 0;

/** A project id no other handle in this process (or, almost surely, any other) has used. */
export function freshProjectId(prefix = 'dspipe-test'): string {
  return `${prefix}-${++projectCounter}-${randomBytes(3).toString('hex')}`;
}

/** Connects to the backend DSPIPE_TEST_BACKEND (or `backend`) names, in a project of its own. */
export async function startTestBackend(options: TestBackendOptions = {}): Promise<TestBackend> {
  const name = options.backend ?? backendName();
  const server = name === 'dspipe' ? dspipeServer(await startEmulator({ port: 0 })) : await googleServer(name);
  return openHandle(server, options);
}

async function openHandle(server: Server, options: TestBackendOptions): Promise<TestBackend> {
  await server.acquire();
  const projectId = options.projectId ?? freshProjectId();
  const connection = resolveConnection(
    options.databaseId === undefined
      ? { emulatorHost: server.address, projectId }
      : { emulatorHost: server.address, projectId, databaseId: options.databaseId },
    {},
  );
  const client = createClient(connection);
  const datastore = createDatastore(connection);
  let closed: Promise<void> | undefined;
  return {
    name: server.name,
    emulatorHost: server.address,
    connection,
    client,
    datastore,
    fresh: (more = {}) => {
      const databaseId = more.databaseId ?? options.databaseId;
      return openHandle(server, databaseId === undefined ? {} : { databaseId });
    },
    close: () =>
      (closed ??= (async () => {
        try {
          await closeClients(client, datastore);
        } finally {
          await server.release();
        }
      })()),
  };
}
