/**
 * kindEnumerator: every selected { namespace, kind } of a database.
 * Namespaces come in Datastore's order (the default namespace first), kinds
 * by name; Datastore's own `__*__` kinds are never listed.
 *
 * What is listed, and how, follows what the selection names and what the
 * backend answers (BACKENDS.md, difference 3):
 * - `--namespaces` and `--kinds` that both name plain names (no `*`): nothing
 *   is listed and no metadata query is sent; every named kind of every named
 *   namespace is read (one that holds nothing reads as empty).
 * - otherwise the `__namespace__` and `__kind__` metadata queries, at the read
 *   time. Production and dspipe's emulator answer them; Google's Firestore
 *   emulator in Datastore mode refuses both (INVALID_ARGUMENT). Then, without
 *   a plain `--namespaces` list, only the default namespace is read, with a
 *   warning; and kinds are found by a keys-only kindless scan of the namespace.
 */
import { Readable } from 'node:stream';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { ITimestamp } from '../model/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { grpcCode } from '../datastore/retry.js';
import { queryPages, type ReadContext } from '../datastore/run-query.js';
import { isReservedName } from '../model/limits.js';
import { compareUtf8 } from '../model/key-order.js';
import { DEFAULT_NAMESPACE_TOKEN, matches, SELECT_ALL, type Selection } from '../format/selection.js';
import { DspipeError } from '../errors.js';
import type { ReadableOf } from './typed.js';

export interface KindRef {
  namespace: string;
  kind: string;
}

export interface KindEnumeratorOptions {
  selection?: Selection | undefined;
  readTime?: ITimestamp | undefined;
  retry?: RetryPolicy | undefined;
  onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
  /** Told once, in plain words, when the backend refuses metadata queries and what is read instead. */
  onWarning?: ((message: string) => void) | undefined;
  /** How to name the namespaces, for the warning when their listing is refused (default: with --namespaces). */
  nameNamespaces?: string | undefined;
  /**
   * A --kinds or --namespaces entry that matches nothing listed: 'error' (the
   * default) refuses with DSPIPE_NOT_FOUND naming what exists; 'ignore' reads
   * what matches (migrate up: a migration of a kind that holds nothing yet is done).
   */
  unmatched?: 'error' | 'ignore' | undefined;
}

const KEYS_ONLY = { projection: [{ property: { name: '__key__' } }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' as const }] };

/** A backend that does not serve a metadata query says so with INVALID_ARGUMENT or UNIMPLEMENTED. */
function isRefusal(err: unknown): boolean {
  const code = grpcCode(err);
  return code === 3 || code === 12;
}

/** Names of the metadata entities a keys-only `__namespace__`/`__kind__` query returns. */
async function metadataNames(client: DatastoreClient, connection: Connection, namespace: string, kind: string, ctx: ReadContext): Promise<string[]> {
  const names: string[] = [];
  for await (const page of queryPages(client, connection, namespace, { kind: [{ name: kind }], ...KEYS_ONLY }, ctx)) {
    for (const result of page.results) {
      // The default namespace is the `__namespace__` entity with id 1 and no name.
      names.push(result.entity?.key?.path?.at(-1)?.name ?? '');
    }
  }
  return names;
}

/** The kinds of a namespace from a keys-only kindless scan: every key, each path's last kind. */
async function scannedKinds(client: DatastoreClient, connection: Connection, namespace: string, ctx: ReadContext): Promise<string[]> {
  const kinds = new Set<string>();
  for await (const page of queryPages(client, connection, namespace, { ...KEYS_ONLY }, ctx)) {
    for (const result of page.results) {
      const kind = result.entity?.key?.path?.at(-1)?.kind;
      if (kind) kinds.add(kind);
    }
  }
  return [...kinds].sort(compareUtf8);
}

/** The namespaces to read and, when the backend listed them, all it has. */
async function namespacesOf(client: DatastoreClient, connection: Connection, selection: Selection, ctx: ReadContext, warn: (m: string) => void, nameThem: string): Promise<{ read: string[]; listed?: string[] }> {
  const named = selection.namespaces.names;
  if (named !== undefined) return { read: [...named].sort(compareUtf8) };
  try {
    const listed = await metadataNames(client, connection, '', '__namespace__', ctx);
    return { read: listed.filter((ns) => matches(selection.namespaces, ns)), listed };
  } catch (err) {
    if (!isRefusal(err)) throw err;
    warn(
      `this Datastore does not list namespaces (${describe(err)}); only the default namespace is read. ` +
        `Name the namespaces to read ${nameThem}.`,
    );
    return { read: matches(selection.namespaces, '') ? [''] : [] };
  }
}

/** Every kind of a namespace but Datastore's own. */
async function kindsOf(client: DatastoreClient, connection: Connection, namespace: string, ctx: ReadContext, state: { scanning: boolean }, warn: (m: string) => void): Promise<string[]> {
  let kinds: string[];
  if (state.scanning) kinds = await scannedKinds(client, connection, namespace, ctx);
  else {
    try {
      kinds = await metadataNames(client, connection, namespace, '__kind__', ctx);
    } catch (err) {
      if (!isRefusal(err)) throw err;
      warn(`this Datastore does not list kinds (${describe(err)}); kinds are found by reading every key instead, which is slower. Name the kinds with --kinds to skip it.`);
      state.scanning = true;
      kinds = await scannedKinds(client, connection, namespace, ctx);
    }
  }
  return kinds.filter((kind) => kind !== '' && !isReservedName(kind));
}

function describe(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  return String(e.details || e.message || err);
}

export async function* enumerateKinds(client: DatastoreClient, connection: Connection, options: KindEnumeratorOptions = {}): AsyncGenerator<KindRef> {
  const selection = options.selection ?? SELECT_ALL;
  const ctx: ReadContext = { readTime: options.readTime, retry: options.retry, onRetry: options.onRetry };
  const warn = (message: string) => options.onWarning?.(message);
  const ns = selection.namespaces.names;
  const kinds = selection.kinds.names;
  if (ns !== undefined && kinds !== undefined) {
    // Both named outright: read exactly those, and ask the backend nothing (a named kind that holds nothing dumps empty).
    for (const namespace of [...ns].sort(compareUtf8)) for (const kind of [...kinds].sort(compareUtf8)) yield { namespace, kind };
    return;
  }
  const state = { scanning: false };
  const nameThem = options.nameNamespaces ?? 'with --namespaces, e.g. --namespaces "(default),tenant-a"';
  const namespaces = await namespacesOf(client, connection, selection, ctx, warn, nameThem);
  const found = new Map<string, string[]>();
  const refs: KindRef[] = [];
  for (const namespace of namespaces.read) {
    const all = await kindsOf(client, connection, namespace, ctx, state, warn);
    found.set(namespace, all);
    for (const kind of all) if (matches(selection.kinds, kind)) refs.push({ namespace, kind });
  }
  if (options.unmatched !== 'ignore') checkMatches(selection, connection, namespaces.listed, found, refs.length);
  // Nothing at all where no kind was asked for by name: worth a word (a wrong --project reads as empty), not a failure,
  // so that clearing what is already clear, or dumping a new project, still works.
  const none = [...found.values()].every((k) => k.length === 0);
  if (none && selection.kinds.include.length === 0) {
    const inNs = selection.namespaces.include.length > 0 ? ` in namespace${found.size === 1 ? '' : 's'} ${listed([...found.keys()].map(nsLabel))}` : namespaces.listed === undefined ? ' in the default namespace' : '';
    warn(`${where(connection)} holds no entities${inNs}` +
      (connection.emulatorHost !== undefined ? `; is it the project your data is in? Name it with --project (this emulator is at ${connection.emulatorHost})` : ''));
  }
  yield* refs;
}

const where = (c: Connection) => `project ${c.projectId}${c.databaseId ? ` database ${c.databaseId}` : ''}`;
const nsLabel = (ns: string) => (ns === '' ? DEFAULT_NAMESPACE_TOKEN : ns);

/** `A, B, C … (12 in all)`: what exists, short enough for one line. */
function listed(names: readonly string[], most = 8): string {
  if (names.length === 0) return 'none';
  return names.length <= most ? names.join(', ') : `${names.slice(0, most).join(', ')} … (${names.length} in all)`;
}

/**
 * A selection entry that matches nothing is a typo or the wrong project far
 * more often than a wish for an empty result: refuse it, naming what exists.
 */
function checkMatches(selection: Selection, connection: Connection, listedNamespaces: string[] | undefined, found: Map<string, string[]>, selected: number): void {
  const nsEntries = selection.namespaces.entries ?? [];
  if (listedNamespaces !== undefined) {
    const missing = selection.namespaces.include.flatMap((re, i) => (listedNamespaces.some((ns) => re.test(ns)) ? [] : [nsEntries[i] ?? re.source]));
    if (missing.length > 0) {
      throw new DspipeError('DSPIPE_NOT_FOUND', `no namespace matches ${missing.map((m) => JSON.stringify(m)).join(', ')} in ${where(connection)}; its namespaces: ${listed(listedNamespaces.map(nsLabel))}`, {
        hint: 'check the spelling (names are case-sensitive), or --project / --database',
      });
    }
  }
  const kindEntries = selection.kinds.entries ?? [];
  const allKinds = [...found.values()].flat();
  const missingKinds = selection.kinds.include.flatMap((re, i) =>
    allKinds.some((k) => re.test(k) && matches(selection.kinds, k)) ? [] : [kindEntries[i] ?? re.source]);
  if (missingKinds.length > 0 || (selected === 0 && selection.kinds.include.length > 0)) {
    const what = missingKinds.length > 0 ? `no kind matches ${missingKinds.map((m) => JSON.stringify(m)).join(', ')}` : 'the selection matches no kind';
    const inNs = [...found].slice(0, 4).map(([ns, kinds]) => `kinds in ${nsLabel(ns)}: ${listed(kinds)}`).join('; ');
    throw new DspipeError('DSPIPE_NOT_FOUND', `${what} in ${where(connection)}; ${inNs || 'it holds no entities'}`, {
      hint: 'check the spelling (kinds are case-sensitive), or --namespaces / --project / --database',
    });
  }
}

/** A Readable (objectMode) of KindRef. */
export function createKindEnumerator(client: DatastoreClient, connection: Connection, options: KindEnumeratorOptions = {}): Readable & ReadableOf<KindRef> {
  return Readable.from(enumerateKinds(client, connection, options));
}
