/**
 * RunQuery on the wire path: the request goes out through the raw transport
 * and the response bytes become dump lines at once (format/wire/), so a page
 * is one buffer of NDJSON, never an array of entity objects. Paging, retries
 * and the end-of-query rule are run-query.ts's, the same as the object path's.
 */
import { runQueryResponseToLines, type LinesPage } from '../format/wire/run-query-lines.js';
import type { Connection } from './connection.js';
import type { RawTransport } from './raw-transport.js';
import { isLastBatch, limitOfQuery, retryingRead, runQueryRequest, type PageFetcher, type QueryPage } from './run-query.js';
import type { IEntityResult } from '../model/proto.js';

/** A page fetcher for queryPages / entityReader whose pages hold one LinesPage each. */
export function wirePageFetcher(transport: RawTransport, connection: Connection): PageFetcher {
  return async (namespace, query, startCursor, ctx): Promise<QueryPage> => {
    const request = runQueryRequest(connection, namespace, query, startCursor, ctx.readTime);
    const bytes = await retryingRead(ctx, () => transport.runQuery(request));
    // Google's legacy emulator mixes in the entities of the project's other databases (entity-reader.ts).
    const page = runQueryResponseToLines(bytes, { databaseId: connection.databaseId });
    const results = page.count + page.foreign;
    return {
      results: page.count > 0 ? [page as unknown as IEntityResult] : [],
      entities: page.count,
      bytes: page.lines.length,
      endCursor: page.endCursor,
      done: isLastBatch(page.moreResults, results, limitOfQuery(query)),
    };
  };
}

/** Whether a result the entity reader emits is a wire page of lines rather than one EntityResult. */
export function isLinesPage(x: unknown): x is LinesPage {
  return typeof (x as LinesPage).count === 'number' && Buffer.isBuffer((x as LinesPage).lines);
}
