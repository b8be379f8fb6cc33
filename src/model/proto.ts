/**
 * The protobuf shapes that `v1.DatastoreClient` accepts and returns. Responses
 * are decoded by google-gax with proto-loader options {longs: String,
 * enums: String, defaults: true, oneofs: true}: int64 fields arrive as decimal
 * strings, bytes as Buffer, enums as their names, and each Value names its
 * variant in `valueType`.
 */
import type { google } from '@google-cloud/datastore/build/protos/protos.js';

export type IEntity = google.datastore.v1.IEntity;
export type IValue = google.datastore.v1.IValue;
export type IKey = google.datastore.v1.IKey;
export type IPathElement = google.datastore.v1.Key.IPathElement;
export type IPartitionId = google.datastore.v1.IPartitionId;
export type IQuery = google.datastore.v1.IQuery;
export type IGqlQuery = google.datastore.v1.IGqlQuery;
export type IFilter = google.datastore.v1.IFilter;
export type IPropertyFilter = google.datastore.v1.IPropertyFilter;
export type ICompositeFilter = google.datastore.v1.ICompositeFilter;
export type IPropertyOrder = google.datastore.v1.IPropertyOrder;
export type IQueryResultBatch = google.datastore.v1.IQueryResultBatch;
export type IEntityResult = google.datastore.v1.IEntityResult;
export type IMutation = google.datastore.v1.IMutation;
export type IMutationResult = google.datastore.v1.IMutationResult;
export type IReadOptions = google.datastore.v1.IReadOptions;
export type ITimestamp = google.protobuf.ITimestamp;
export type ILatLng = google.type.ILatLng;
export type IAggregationQuery = google.datastore.v1.IAggregationQuery;
export type IRunQueryRequest = google.datastore.v1.IRunQueryRequest;
export type IRunQueryResponse = google.datastore.v1.IRunQueryResponse;
export type ICommitRequest = google.datastore.v1.ICommitRequest;
export type ICommitResponse = google.datastore.v1.ICommitResponse;
export type ILookupRequest = google.datastore.v1.ILookupRequest;
export type ILookupResponse = google.datastore.v1.ILookupResponse;

/** A Value as proto-loader decodes it: `valueType` names the oneof variant that is set. */
export type Value = IValue & { valueType?: string };
