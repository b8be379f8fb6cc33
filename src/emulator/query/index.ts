/**
 * The emulator's query engine: RunQuery and RunAggregationQuery over a
 * read-consistent DatabaseSnapshot. The server owns transport, read time and
 * transactions; it fills `batch.readTime` and maps QueryError to a gRPC
 * status. Requests arrive as @grpc/proto-loader decodes them (camelCase,
 * int64 as strings, enums as names, oneof names set).
 *
 * GQL is not supported: a gqlQuery is refused with UNIMPLEMENTED and a
 * message saying so, rather than answered wrongly.
 */
import type { google } from '@google-cloud/datastore/build/protos/protos.js';
import type { IAggregationQuery, IGqlQuery, IQuery, IQueryResultBatch } from '../../datastore/proto.js';
import type { DatabaseSnapshot } from '../snapshot.js';
import { executeAggregation } from './aggregation.js';
import { invalid, QueryError, UNIMPLEMENTED } from './errors.js';
import type { Partition } from './filters.js';
import { executeQuery } from './run-query.js';

export { QueryError } from './errors.js';
export { compareValues, indexedValues } from './values.js';
export { keyHash, scatterValue } from './scatter.js';
export { MAX_BATCH } from './run-query.js';

export type QueryPartition = Partition;

function gqlUnsupported(): QueryError {
  return new QueryError(
    UNIMPLEMENTED,
    'GQL queries are not supported by the dspipe emulator; send a structured Query (query / aggregation_query) instead.',
  );
}

export function runQuery(
  snapshot: DatabaseSnapshot,
  partition: Partition,
  request: { query?: IQuery | null; gqlQuery?: IGqlQuery | null },
): { batch: IQueryResultBatch; query: IQuery } {
  if (request.gqlQuery) throw gqlUnsupported();
  if (!request.query) throw invalid('RunQuery needs a query.');
  return { batch: executeQuery(snapshot, partition, request.query), query: request.query };
}

export function runAggregationQuery(
  snapshot: DatabaseSnapshot,
  partition: Partition,
  request: { aggregationQuery?: IAggregationQuery | null; gqlQuery?: IGqlQuery | null },
): { batch: google.datastore.v1.IAggregationResultBatch } {
  if (request.gqlQuery) throw gqlUnsupported();
  if (!request.aggregationQuery) throw invalid('RunAggregationQuery needs an aggregation query.');
  return { batch: executeAggregation(snapshot, partition, request.aggregationQuery) };
}
