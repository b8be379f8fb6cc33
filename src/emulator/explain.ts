/**
 * Query explain's answer (google.datastore.v1.ExplainMetrics) as Datastore's
 * "Query Explain analyze report reference" describes it: a plan summary
 * whose `indexes_used` entries carry `query_scope` and `properties`
 * ("(age ASC, __name__ ASC)"), and with `analyze` the execution stats —
 * results_returned, execution_duration, read_operations and debug_stats
 * {index_entries_scanned, documents_scanned, billing_details} (strings, as
 * production sends them).
 *
 * read_operations is an estimate by Datastore's billing rules: one read per
 * entity returned, and for keys-only or projection results one per 1,000
 * index entries; a query that returns nothing still costs one read.
 */
import type { IndexUsed } from './index-policy.js';

type StructValue = { stringValue: string } | { numberValue: number } | { structValue: Struct };
interface Struct {
  fields: Record<string, StructValue>;
}

function toStruct(o: Record<string, unknown>): Struct {
  const fields: Record<string, StructValue> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') fields[k] = { numberValue: v };
    else if (v !== null && typeof v === 'object') fields[k] = { structValue: toStruct(v as Record<string, unknown>) };
    else fields[k] = { stringValue: String(v) };
  }
  return { fields };
}

export interface RunFigures {
  /** Results in the response. */
  returned: number;
  /** Index rows read. */
  scanned: number;
  /** Full entities read. */
  documents: number;
  /** process.hrtime.bigint() when the run started. */
  started: bigint;
}

export function explainMetrics(used: readonly IndexUsed[], run?: RunFigures): Record<string, unknown> {
  const planSummary = { indexesUsed: used.map((u) => toStruct({ ...u })) };
  if (run === undefined) return { planSummary };
  const nanos = Number(process.hrtime.bigint() - run.started);
  const entryReads = run.documents > 0 ? 0 : Math.ceil(run.scanned / 1000);
  const readOperations = Math.max(1, run.documents + entryReads);
  return {
    planSummary,
    executionStats: {
      resultsReturned: String(run.returned),
      executionDuration: { seconds: String(Math.floor(nanos / 1e9)), nanos: nanos % 1e9 },
      readOperations: String(readOperations),
      debugStats: toStruct({
        index_entries_scanned: String(run.scanned),
        documents_scanned: String(run.documents),
        billing_details: {
          documents_billable: String(run.documents),
          index_entries_billable: String(run.documents > 0 ? 0 : run.scanned),
          small_ops: '0',
          min_query_cost: String(run.documents + entryReads === 0 ? 1 : 0),
        },
      }),
    },
  };
}
