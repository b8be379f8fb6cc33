/**
 * What a refused Commit means, read from its gRPC code and text. The same
 * refusal reads the same whichever Datastore gave it — dspipe's emulator,
 * Google's two emulators or production — so callers decide by behaviour,
 * never by which backend answered (BACKENDS.md, "Request size").
 */
import { MAX_ENTITY_BYTES } from '../model/limits.js';
import { grpcCode } from './retry.js';

const CANCELLED = 1;
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;

/** The status text of a gRPC error (`details`), else its message. */
export function errorDetails(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown } | null;
  return String(e?.details ?? e?.message ?? err);
}

/**
 * A request refused for its size: Firestore's emulator says RESOURCE_EXHAUSTED
 * "gRPC message exceeds maximum size 4194304: 5400270"; production and dspipe's
 * emulator INVALID_ARGUMENT "Request payload size exceeds the limit: 10485760 bytes.".
 */
const REQUEST_TOO_LARGE = /message exceeds maximum size (\d+)|payload size exceeds the limit:? (\d+)|request (?:is )?too large/i;

export interface SizeRefusal {
  /** The request limit the backend stated, in bytes, when it said one. */
  limit?: number;
}

/**
 * Whether `err` refused a request for its size. `bytes` is the request's
 * size; `cancelledByUs` whether our own abort could have cancelled the call.
 */
export function sizeRefusal(err: unknown, request: { bytes: number; cancelledByUs: boolean }): SizeRefusal | undefined {
  const code = grpcCode(err);
  if (code === RESOURCE_EXHAUSTED || code === INVALID_ARGUMENT) {
    const match = REQUEST_TOO_LARGE.exec(errorDetails(err));
    if (match === null) return undefined;
    const limit = Number(match[1] ?? match[2]);
    return limit > 0 ? { limit } : {};
  }
  // Google's legacy emulator cancels a request over 4 MiB and says nothing more
  // ("Call cancelled"). A CANCELLED we did not cause on a request larger than
  // the largest entity is taken for that; no Datastore caps requests below it.
  if (code === CANCELLED && !request.cancelledByUs && request.bytes > MAX_ENTITY_BYTES) return {};
  return undefined;
}

/** Room left in a stated limit for what a CommitRequest carries besides its mutations. */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * The mutation bytes to allow per commit after a request of `refusedBytes`
 * was refused: the stated limit less the envelope, else half the request.
 * Always below what was refused, so the next try is smaller.
 */
export function budgetAfter(refusal: SizeRefusal, refusedBytes: number): number {
  const half = Math.max(1, Math.floor(refusedBytes / 2));
  if (refusal.limit === undefined) return half;
  const fromLimit = refusal.limit - ENVELOPE_BYTES;
  return fromLimit > 0 && fromLimit < refusedBytes ? fromLimit : half;
}

/**
 * An entity over Datastore's size limit, in the words of each backend:
 * dspipe's "entity … is too big: N bytes is over the limit of 1048572 bytes",
 * Google's "The value of property "s" is longer than 1048487 bytes." (one
 * value over the entity limit less its overhead) and Firestore's "maximum
 * entity size is 1048576 bytes", or a request over its limit. The other
 * "longer than N bytes" refusals (an indexed value over 1,500, a URL over
 * 2,083) are rules broken, not sizes, and read as a refused entity.
 */
export function isEntityTooLarge(details: string): boolean {
  if (/\btoo (?:large|big)\b|maximum entity size|payload size exceeds|message exceeds maximum size/i.test(details)) return true;
  const longer = /longer than (\d+) bytes/i.exec(details);
  return longer !== null && Number(longer[1]) >= 1_000_000;
}
