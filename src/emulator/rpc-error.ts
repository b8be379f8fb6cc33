/**
 * Errors the emulator returns to clients as gRPC statuses. Anything thrown
 * while serving an RPC that carries a numeric `code` is passed through as that
 * status (the query engine throws the same shape); anything else is INTERNAL.
 */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export class RpcError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string) {
    super(details);
    this.name = 'RpcError';
    this.code = code;
    this.details = details;
  }
}

export function invalidArgument(details: string): RpcError {
  return new RpcError(Status.INVALID_ARGUMENT, details);
}

/** Normalizes anything thrown while serving an RPC into {code, details}. */
export function toStatus(err: unknown): { code: number; details: string } {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  if (e !== null && typeof e === 'object' && typeof e.code === 'number' && e.code > 0 && e.code <= 16) {
    return { code: e.code, details: String(e.details ?? e.message ?? '') };
  }
  return { code: Status.INTERNAL, details: `emulator internal error: ${String((e as Error | null)?.stack ?? err)}` };
}
