/**
 * kindEnumerator: every selected { namespace, kind } of a database, from the
 * `__namespace__` and `__kind__` metadata queries at the dump's read time.
 * Namespaces come in Datastore's order (the default namespace first), kinds
 * by name; Datastore's own `__*__` kinds are never listed.
 */
import { Readable } from 'node:stream';
import type { Connection, DatastoreClient } from '../datastore/connection.js';
import type { IQuery, ITimestamp } from '../model/proto.js';
import type { RetryPolicy } from '../datastore/retry.js';
import { queryPages, type ReadContext } from '../datastore/run-query.js';
import { matches, SELECT_ALL, type Selection } from '../format/selection.js';

export interface KindRef {
  namespace: string;
  kind: string;
}

export interface KindEnumeratorOptions {
  selection?: Selection | undefined;
  readTime?: ITimestamp | undefined;
  retry?: RetryPolicy | undefined;
  onRetry?: ((err: unknown, attempt: number, delayMs: number) => void) | undefined;
}

const RESERVED = /^__.*__$/s;

function keysOnly(kind: string): IQuery {
  return { kind: [{ name: kind }], projection: [{ property: { name: '__key__' } }], order: [{ property: { name: '__key__' }, direction: 'ASCENDING' }] };
}

/** Names of the metadata entities a keys-only `__namespace__`/`__kind__` query returns. */
async function* metadataNames(client: DatastoreClient, connection: Connection, namespace: string, kind: string, ctx: ReadContext) {
  for await (const page of queryPages(client, connection, namespace, keysOnly(kind), ctx)) {
    for (const result of page.results) {
      const element = result.entity?.key?.path?.at(-1);
      // The default namespace is the `__namespace__` entity with id 1 and no name.
      yield element?.name ?? '';
    }
  }
}

export async function* enumerateKinds(client: DatastoreClient, connection: Connection, options: KindEnumeratorOptions = {}): AsyncGenerator<KindRef> {
  const selection = options.selection ?? SELECT_ALL;
  const ctx: ReadContext = { readTime: options.readTime, retry: options.retry, onRetry: options.onRetry };
  const namespaces: string[] = [];
  for await (const ns of metadataNames(client, connection, '', '__namespace__', ctx)) {
    if (matches(selection.namespaces, ns)) namespaces.push(ns);
  }
  for (const namespace of namespaces) {
    for await (const kind of metadataNames(client, connection, namespace, '__kind__', ctx)) {
      if (kind !== '' && !RESERVED.test(kind) && matches(selection.kinds, kind)) yield { namespace, kind };
    }
  }
}

/** A Readable (objectMode) of KindRef. */
export function createKindEnumerator(client: DatastoreClient, connection: Connection, options: KindEnumeratorOptions = {}): Readable {
  return Readable.from(enumerateKinds(client, connection, options));
}
