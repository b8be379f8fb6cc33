/**
 * A query the engine refuses, carrying the gRPC status the server answers
 * with. The server maps it 1:1 onto a ServiceError, so `details` reads like
 * Datastore's own message.
 */
import { RpcError, Status } from '../rpc-error.js';

export const INVALID_ARGUMENT = Status.INVALID_ARGUMENT;
export const UNIMPLEMENTED = Status.UNIMPLEMENTED;

export class QueryError extends RpcError {
  constructor(code: number, details: string) {
    super(code, details);
    this.name = 'QueryError';
  }
}

export function invalid(details: string): QueryError {
  return new QueryError(INVALID_ARGUMENT, details);
}
