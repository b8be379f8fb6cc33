/**
 * The emulator's query engine: RunQuery and RunAggregationQuery over a
 * read-consistent DatabaseSnapshot. The server owns transport, read time and
 * transactions; it fills `batch.readTime` and maps QueryError to a gRPC
 * status. Requests arrive as @grpc/proto-loader decodes them (camelCase,
 * int64 as strings, enums as names, oneof names set).
 *
 * GQL is compiled to the same structured queries (gql.ts), and the parsed
 * form is returned so the server can echo it in the response.
 */
import type { google } from '@google-cloud/datastore/build/protos/protos.js';
import type { IAggregationQuery, IGqlQuery, IQuery, IQueryResultBatch } from '../../model/proto.js';
import type { DatabaseSnapshot } from '../snapshot.js';
import { executeAggregation } from './aggregation.js';
import { invalid } from './errors.js';
import { parseGql } from './gql.js';
import type { Partition } from './filters.js';
import { executeQuery } from './run-query.js';

export { QueryError } from './errors.js';
export { compareValues, indexedValues } from './values.js';
export { keyHash, scatterValue } from './scatter.js';
export { parseGql } from './gql.js';

export type QueryPartition = Partition;


export function runQuery(
  snapshot: DatabaseSnapshot,
  partition: Partition,
  request: { query?: IQuery | null; gqlQuery?: IGqlQuery | null },
): { batch: IQueryResultBatch; query: IQuery } {
  if (request.gqlQuery) {
    const parsed = parseGql(request.gqlQuery, partition);
    if (parsed.type !== 'query') throw invalid('An aggregation GQL query must be sent with RunAggregationQuery.');
    return { batch: executeQuery(snapshot, partition, parsed.query), query: parsed.query };
  }
  if (!request.query) throw invalid('RunQuery needs a query.');
  return { batch: executeQuery(snapshot, partition, request.query), query: request.query };
}

export function runAggregationQuery(
  snapshot: DatabaseSnapshot,
  partition: Partition,
  request: { aggregationQuery?: IAggregationQuery | null; gqlQuery?: IGqlQuery | null },
): { batch: google.datastore.v1.IAggregationResultBatch; query: IAggregationQuery } {
  if (request.gqlQuery) {
    const parsed = parseGql(request.gqlQuery, partition);
    if (parsed.type !== 'aggregation') throw invalid('RunAggregationQuery needs an aggregation GQL query (SELECT COUNT(*) ... or AGGREGATE ... OVER (...)).');
    return { batch: executeAggregation(snapshot, partition, parsed.aggregationQuery), query: parsed.aggregationQuery };
  }
  if (!request.aggregationQuery) throw invalid('RunAggregationQuery needs an aggregation query.');
  return { batch: executeAggregation(snapshot, partition, request.aggregationQuery), query: request.aggregationQuery };
}
