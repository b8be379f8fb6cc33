/**
 * Shared helpers for the emulator conformance suite: request builders in the
 * raw v1 shapes and an assertion on gRPC status codes.
 */
import assert from 'node:assert/strict';
import type { IEntity, IKey, IMutation, IValue } from '../../src/model/proto.js';
import type { TestEmulator } from '../helpers/emulator.js';

export const Code = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** No gax retries: the emulator's answer, not gax's retry loop, is under test. */
export const NO_RETRY = { retry: null } as unknown as Record<string, never>;

export function key(...path: (string | number)[]): IKey {
  const out: IKey = { path: [] };
  for (let i = 0; i < path.length; i += 2) {
    const kind = String(path[i]);
    const idOrName = path[i + 1];
    if (idOrName === undefined) out.path!.push({ kind });
    else if (typeof idOrName === 'number') out.path!.push({ kind, id: String(idOrName) });
    else out.path!.push({ kind, name: idOrName });
  }
  return out;
}

export function entity(k: IKey, properties: Record<string, IValue> = {}): IEntity {
  return { key: k, properties };
}

export const int = (n: number | string): IValue => ({ integerValue: String(n) });
export const str = (s: string, excludeFromIndexes = false): IValue => ({ stringValue: s, excludeFromIndexes });

export async function commit(t: TestEmulator, mutations: IMutation[], extra: Record<string, unknown> = {}) {
  const [response] = await t.client.commit(
    { projectId: t.connection.projectId, mode: 'NON_TRANSACTIONAL', mutations, ...extra },
    NO_RETRY,
  );
  return response;
}

export async function lookup(t: TestEmulator, keys: IKey[], readOptions?: Record<string, unknown>) {
  const [response] = await t.client.lookup(
    { projectId: t.connection.projectId, keys, ...(readOptions ? { readOptions } : {}) },
    NO_RETRY,
  );
  return response;
}

/** Asserts that `promise` fails with gRPC `code` and, when given, a message matching `pattern`. */
export async function rejectsWith(promise: Promise<unknown>, code: number, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code?: number; details?: string; message?: string }) => {
    assert.equal(err.code, code, `expected gRPC code ${code}, got ${err.code}: ${err.details ?? err.message}`);
    if (pattern) assert.match(String(err.details ?? err.message), pattern);
    return true;
  });
}
