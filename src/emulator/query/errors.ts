/**
 * A query the engine refuses, carrying the gRPC status the server answers
 * with. The server maps it 1:1 onto a ServiceError, so `details` reads like
 * Datastore's own message.
 */
export const INVALID_ARGUMENT = 3;
export const UNIMPLEMENTED = 12;

export class QueryError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, details: string) {
    super(details);
    this.name = 'QueryError';
    this.code = code;
    this.details = details;
  }
}

export function invalid(details: string): QueryError {
  return new QueryError(INVALID_ARGUMENT, details);
}
