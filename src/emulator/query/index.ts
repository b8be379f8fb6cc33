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
import { executeQuery, type RunOptions } from './run-query.js';
import { planQuery, type Plan } from './plan.js';

export { QueryError } from './errors.js';
export { compareValues, indexedValues } from './values.js';
export { keyHash, scatterValue } from './scatter.js';
export { parseGql } from './gql.js';

export type QueryPartition = Partition;
export type { RunOptions, RunStats } from './run-query.js';
export type { Plan } from './plan.js';
export { indexNeeds, servingIndexes, NO_MATCHING_INDEX, type IndexNeed } from './index-need.js';


export function runQuery(
  snapshot: DatabaseSnapshot,
  partition: Partition,
  request: { query?: IQuery | null; gqlQuery?: IGqlQuery | null },
  options: RunOptions = {},
): { batch: IQueryResultBatch; query: IQuery } {
  const query = queryOf(partition, request);
  return { batch: executeQuery(snapshot, partition, query, options), query };
}

function queryOf(partition: Partition, request: { query?: IQuery | null; gqlQuery?: IGqlQuery | null }): IQuery {
  if (request.gqlQuery) {
    const parsed = parseGql(request.gqlQuery, partition);
    if (parsed.type !== 'query') throw invalid('An aggregation GQL query must be sent with RunAggregationQuery.');
    return parsed.query;
  }
  if (!request.query) throw invalid('RunQuery needs a query.');
  return request.query;
}

function aggregationOf(partition: Partition, request: { aggregationQuery?: IAggregationQuery | null; gqlQuery?: IGqlQuery | null }): IAggregationQuery {
  if (request.gqlQuery) {
    const parsed = parseGql(request.gqlQuery, partition);
    if (parsed.type !== 'aggregation') throw invalid('RunAggregationQuery needs an aggregation GQL query (SELECT COUNT(*) ... or AGGREGATE ... OVER (...)).');
    return parsed.aggregationQuery;
  }
  if (!request.aggregationQuery) throw invalid('RunAggregationQuery needs an aggregation query.');
  return request.aggregationQuery;
}

/**
 * Plans a query (or an aggregation's nested query) without reading anything:
 * what query explain without `analyze` reports on.
 */
export function planOnly(
  partition: Partition,
  request: { query?: IQuery | null; aggregationQuery?: IAggregationQuery | null; gqlQuery?: IGqlQuery | null },
  aggregation: boolean,
): { plan: Plan; query: IQuery } {
  const query = aggregation ? aggregationOf(partition, request).nestedQuery : queryOf(partition, request);
  if (!query) throw invalid('An aggregation query must have a nested query.');
  return { plan: planQuery(query, partition), query };
}

export function runAggregationQuery(
  snapshot: DatabaseSnapshot,
  partition: Partition,
  request: { aggregationQuery?: IAggregationQuery | null; gqlQuery?: IGqlQuery | null },
  options: RunOptions = {},
): { batch: google.datastore.v1.IAggregationResultBatch; query: IAggregationQuery } {
  const query = aggregationOf(partition, request);
  return { batch: executeAggregation(snapshot, partition, query, options), query };
}
