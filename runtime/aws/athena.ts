// Athena's API as the history's Athena runner (history/athena.ts) needs it: start a
// query in the stack's workgroup (whose settings fix the result location and encryption), poll
// it, page through its rows.
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';

export interface AthenaTarget {
  workgroup: string;
  database: string;
}

/** The three calls of Athena's API this needs (an AthenaClient from @aws-sdk/client-athena, or a stand-in). */
export interface AthenaApi {
  start(sql: string, target: AthenaTarget): Promise<string>;
  status(id: string): Promise<{ state: string; reason?: string }>;
  page(id: string, token?: string): Promise<{ rows: (string | undefined)[][]; next?: string }>;
}

export function athenaApi(client: AthenaClient): AthenaApi {
  return {
    async start(sql: string, target: AthenaTarget) {
      const r = await client.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          WorkGroup: target.workgroup,
          QueryExecutionContext: { Database: target.database },
        }),
      );
      if (!r.QueryExecutionId) throw new Error('Athena started a query without an id');
      return r.QueryExecutionId;
    },
    async status(id: string) {
      const r = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      return {
        state: r.QueryExecution?.Status?.State ?? 'UNKNOWN',
        reason: r.QueryExecution?.Status?.StateChangeReason,
      };
    },
    async page(id: string, token?: string) {
      const r = await client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
      );
      return {
        rows: (r.ResultSet?.Rows ?? []).map((row) => (row.Data ?? []).map((d) => d.VarCharValue)),
        next: r.NextToken,
      };
    },
  };
}

export function makeAthena(region: string): AthenaApi {
  return athenaApi(new AthenaClient({ region, maxAttempts: 8 }));
}
