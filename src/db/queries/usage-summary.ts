// Read-side usage queries: per-model totals of an account over a period, summed exactly in Postgres.
import type { Queryable as Sql } from '../../lib/db'

export interface ModelUsageRow {
  model: string
  input: string
  output: string
  cost_nano: string
  images: string
}

export function usageByModel(sql: Sql, accountId: string, from: Date, to: Date): Promise<ModelUsageRow[]> {
  return sql<ModelUsageRow[]>`
    SELECT model,
           sum(input_tokens)::bigint  AS input,
           sum(output_tokens)::bigint AS output,
           sum(cost_nano)::bigint     AS cost_nano,
           sum(images)::bigint        AS images
    FROM usage_events
    WHERE account_id = ${accountId} AND started_at >= ${from} AND started_at < ${to}
    GROUP BY model
    ORDER BY model`
}
