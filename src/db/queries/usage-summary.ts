// Read-side usage queries: per-model totals of an account, or per model and per end customer of a platform project, over a period, summed exactly in Postgres.
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

export interface CustomerUsageRow {
  end_customer_id: string
  external_id: string | null
  mode: string | null
  input: string
  output: string
  cost_nano: string
  requests: string
}

/** A platform project's requests over a period, per model (requests paid from its end users' wallets). */
export function projectUsageByModel(sql: Sql, projectId: string, from: Date, to: Date): Promise<ModelUsageRow[]> {
  return sql<ModelUsageRow[]>`
    SELECT model,
           sum(input_tokens)::bigint  AS input,
           sum(output_tokens)::bigint AS output,
           sum(cost_nano)::bigint     AS cost_nano,
           sum(images)::bigint        AS images
    FROM usage_events
    WHERE project_id = ${projectId} AND started_at >= ${from} AND started_at < ${to}
    GROUP BY model
    ORDER BY model`
}

/** The same period per end customer, with the external id the developer knows them by. */
export function projectUsageByCustomer(sql: Sql, projectId: string, from: Date, to: Date): Promise<CustomerUsageRow[]> {
  return sql<CustomerUsageRow[]>`
    SELECT u.end_customer_id,
           c.external_id,
           c.mode,
           sum(u.input_tokens)::bigint  AS input,
           sum(u.output_tokens)::bigint AS output,
           sum(u.cost_nano)::bigint     AS cost_nano,
           count(*)::bigint             AS requests
    FROM usage_events u
    LEFT JOIN end_customers c ON c.id = u.end_customer_id
    WHERE u.project_id = ${projectId} AND u.started_at >= ${from} AND u.started_at < ${to} AND u.end_customer_id IS NOT NULL
    GROUP BY u.end_customer_id, c.external_id, c.mode
    ORDER BY u.end_customer_id`
}
