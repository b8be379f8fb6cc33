/**
 * The option normaliser of `dspipe emulator`. Its result is the options
 * object `startEmulator()` takes (emulator/ cannot import options/, so the
 * shape is restated here rather than imported).
 */
import { boolean, conflict, invalid, numberInRange, opt, text, wholeNumber } from './validate.js';

export interface EmulatorOptionsInput {
  port?: number | string;
  host?: string;
  /** gcloud's `--host-port`: `HOST:PORT`, `HOST`, `:PORT`, `[::1]:PORT`. */
  hostPort?: string;
  /** The project the printed environment names (any project works against the emulator). */
  projectId?: string;
  /** Where data (and env.yaml, for `env-init`) is kept. */
  dataDir?: string;
  /** A dspipe dump folder or a managed export to load at start. */
  importFrom?: string;
  /** Keep data in dataDir across restarts (default true when dataDir is given, as gcloud). */
  storeOnDisk?: boolean;
  /** gcloud's eventual-consistency fraction: accepted, and ignored (dspipe's emulator is strongly consistent). */
  consistency?: number | string;
  latencyMs?: number | string;
  faults?: { rate?: number | string; seed?: number | string };
  /** --max-write-rps N: refuse Commits above N write operations per second (RESOURCE_EXHAUSTED). */
  maxWriteRps?: number | string;
  /** --require-indexes FILE: the index.yaml whose indexes are deployed; queries needing others fail. */
  requireIndexes?: string;
  /** --write-indexes FILE: record the composite indexes queries needed. */
  writeIndexes?: string;
  /** --index-build-ms N: how long the Admin API takes to build or delete an index. */
  indexBuildMs?: number | string;
}

export interface NormalizedEmulatorOptions {
  port: number;
  host: string;
  projectId: string;
  /** Set only when data is kept on disk. */
  dataDir?: string;
  importFrom?: string;
  /** Where env.yaml goes (dataDir, or the --data-dir of --no-store-on-disk). */
  envDir?: string;
  consistency?: number;
  latencyMs?: number;
  faults?: { rate: number; seed?: number };
  maxWriteRps?: number;
  /** Index files and build time; the CLI reads requireIndexes into startEmulator's `indexes.require`. */
  indexFiles?: { require?: string; write?: string; buildMs?: number };
}

export const DEFAULT_EMULATOR_PORT = 8081;
/** setTimeout's longest delay (2^31 - 1 ms); longer ones fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

/** The project named when none is given (the emulator takes any). */
export const DEFAULT_EMULATOR_PROJECT = 'dspipe-emulator';

/** Splits gcloud's `--host-port` value; undefined parts fall back to --host / --port defaults. */
export function parseHostPort(value: string): { host?: string; port?: string } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]*))(?::(\d*))?$/.exec(value.trim());
  if (m === null) return undefined;
  const host = m[1] ?? m[2] ?? '';
  // A bare number is a port ("and/or port", as gcloud's help puts it).
  if (m[1] === undefined && m[3] === undefined && /^\d+$/.test(host)) return { port: host };
  return { ...(host !== '' && { host }), ...(m[3] !== undefined && m[3] !== '' && { port: m[3] }) };
}

export function normalizeEmulatorOptions(input: EmulatorOptionsInput = {}): NormalizedEmulatorOptions {
  let portInput = input.port;
  let hostInput = input.host;
  if (input.hostPort !== undefined) {
    const hp = typeof input.hostPort === 'string' ? parseHostPort(input.hostPort) : undefined;
    if (hp === undefined) invalid(opt('--host-port'), input.hostPort, 'is not HOST:PORT', 'e.g. --host-port localhost:8081, or --host-port [::1]:8081');
    if (input.port !== undefined && hp.port !== undefined) conflict(opt('--host-port'), opt('--port'), 'names a port, and so does', 'give one of them');
    if (input.host !== undefined && hp.host !== undefined) conflict(opt('--host-port'), opt('--host'), 'names a host, and so does', 'give one of them');
    portInput ??= hp.port;
    hostInput ??= hp.host;
  }
  const port = wholeNumber(opt('--port'), portInput, 0, 65_535, DEFAULT_EMULATOR_PORT);
  const host = text(opt('--host'), hostInput, 'e.g. --host localhost, or --host 0.0.0.0 for every interface', 'localhost');
  const projectId = text(opt('--project', 'projectId'), input.projectId, 'e.g. --project my-app (any id works against the emulator)', DEFAULT_EMULATOR_PROJECT);
  const dataDir = input.dataDir === undefined ? undefined : text(opt('--data-dir'), input.dataDir, 'e.g. --data-dir .emulator-data');
  const storeOnDisk = boolean(opt('--store-on-disk'), input.storeOnDisk, dataDir !== undefined);
  if (storeOnDisk && dataDir === undefined) {
    invalid(opt('--store-on-disk'), input.storeOnDisk, 'needs --data-dir', 'add --data-dir DIR: the folder that keeps the data');
  }
  const importFrom = input.importFrom === undefined ? undefined : text(opt('--import', 'importFrom'), input.importFrom, 'e.g. --import _backup/20261122 (a dspipe dump folder or a managed export)');
  const consistency = input.consistency === undefined ? undefined : numberInRange(opt('--consistency'), input.consistency, 0, 1, 1);
  const latencyMs = input.latencyMs === undefined ? undefined : numberInRange(opt('--latency-ms', 'latencyMs'), input.latencyMs, 0, MAX_DELAY_MS, 0);
  const rate = input.faults?.rate === undefined ? undefined : numberInRange(opt('--fail-rate', 'faults.rate'), input.faults.rate, 0, 1, 0.1);
  const seed = wholeNumber(opt('--seed', 'faults.seed'), input.faults?.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  const maxWriteRps = wholeNumber(opt('--max-write-rps', 'maxWriteRps'), input.maxWriteRps, 1, 100_000_000);
  const hint = 'name an index.yaml, e.g. --require-indexes index.yaml';
  const require = text(opt('--require-indexes'), input.requireIndexes, hint, '') || undefined;
  const write = text(opt('--write-indexes'), input.writeIndexes, hint, '') || undefined;
  const buildMs = input.indexBuildMs === undefined ? undefined : numberInRange(opt('--index-build-ms'), input.indexBuildMs, 0, MAX_DELAY_MS, 300);
  const indexFiles = {
    ...(require !== undefined && { require }),
    ...(write !== undefined && { write }),
    ...(buildMs !== undefined && { buildMs }),
  };
  return {
    port,
    host,
    projectId,
    ...(storeOnDisk && dataDir !== undefined && { dataDir }),
    ...(dataDir !== undefined && { envDir: dataDir }),
    ...(importFrom !== undefined && { importFrom }),
    ...(consistency !== undefined && { consistency }),
    ...(latencyMs !== undefined && { latencyMs }),
    ...(rate !== undefined && { faults: seed !== undefined ? { rate, seed } : { rate } }),
    ...(maxWriteRps !== undefined && { maxWriteRps }),
    ...(Object.keys(indexFiles).length > 0 && { indexFiles }),
  };
}
