// Read-side queries of one project for its account (the dashboard): its keys, daily usage per model, its wallets' ledger, top-ups, margin, and its webhook endpoints.
import type { Queryable as Sql } from '../../lib/db'
import type { Mode, ProjectKeyRow } from './projects'

/** The project's secret keys, revoked ones too (the hash is never read). */
export function listProjectKeys(sql: Sql, projectId: string): Promise<ProjectKeyRow[]> {
  return sql<ProjectKeyRow[]>`
    SELECT id, project_id, mode, display, created_at, revoked_at FROM project_keys
    WHERE project_id = ${projectId} ORDER BY created_at, id`
}

/** Which of a project's rows to read: one mode or both, one end customer or all. */
export interface ProjectFilter {
  mode: Mode | null
  endCustomerId?: string | null
}

export interface DailyUsageRow {
  /** YYYY-MM-DD, the UTC day the request started. */
  day: string
  model: string
  requests: string
  input: string
  output: string
  cost_nano: string
}

/** The project's requests per UTC day and model over [from, to). */
export function projectUsageByDay(sql: Sql, projectId: string, from: Date, to: Date, filter: ProjectFilter): Promise<DailyUsageRow[]> {
  return sql<DailyUsageRow[]>`
    SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
           model,
           count(*)::bigint            AS requests,
           sum(input_tokens)::bigint   AS input,
           sum(output_tokens)::bigint  AS output,
           sum(cost_nano)::bigint      AS cost_nano
    FROM usage_events
    WHERE project_id = ${projectId} AND started_at >= ${from} AND started_at < ${to}
      ${filter.mode === null ? sql`` : sql`AND platform_mode = ${filter.mode}`}
      ${filter.endCustomerId ? sql`AND end_customer_id = ${filter.endCustomerId}` : sql``}
    GROUP BY 1, 2
    ORDER BY 1, 2`
}

export interface WalletEntryRow {
  id: string
  kind: 'credit' | 'usage' | 'adjustment'
  amount_nano: string
  reference: string
  reason: string
  markup_bps: number | null
  created_at: Date
  wallet_id: string
  mode: Mode
  end_customer_id: string
  external_id: string
}

/** The newest entries of the project's end-user wallets (all of them in one list), newest first. */
export function projectWalletEntries(sql: Sql, projectId: string, filter: ProjectFilter, limit: number): Promise<WalletEntryRow[]> {
  return sql<WalletEntryRow[]>`
    SELECT l.id, l.kind, l.amount_nano, l.reference, l.reason, l.markup_bps, l.created_at,
           w.id AS wallet_id, w.mode, c.id AS end_customer_id, c.external_id
    FROM end_user_wallets w
    JOIN end_customers c ON c.id = w.end_customer_id
    JOIN ledger l ON l.account_id = w.ledger_account_id
    WHERE w.project_id = ${projectId}
      ${filter.mode === null ? sql`` : sql`AND w.mode = ${filter.mode}`}
      ${filter.endCustomerId ? sql`AND c.id = ${filter.endCustomerId}` : sql``}
    ORDER BY l.id DESC
    LIMIT ${limit}`
}

export interface WalletTotalsRow {
  credited_nano: string
  spent_nano: string
  adjusted_nano: string
  balance_nano: string
}

/** Sums over all the project's wallets: credits, usage debits (positive), adjustments and the balance left. */
export async function projectWalletTotals(sql: Sql, projectId: string, filter: ProjectFilter): Promise<WalletTotalsRow> {
  const [row] = await sql<WalletTotalsRow[]>`
    SELECT coalesce(sum(l.amount_nano) FILTER (WHERE l.kind = 'credit'), 0)::bigint      AS credited_nano,
           coalesce(-sum(l.amount_nano) FILTER (WHERE l.kind = 'usage'), 0)::bigint      AS spent_nano,
           coalesce(sum(l.amount_nano) FILTER (WHERE l.kind = 'adjustment'), 0)::bigint  AS adjusted_nano,
           coalesce(sum(l.amount_nano), 0)::bigint                                       AS balance_nano
    FROM end_user_wallets w
    JOIN ledger l ON l.account_id = w.ledger_account_id
    WHERE w.project_id = ${projectId}
      ${filter.mode === null ? sql`` : sql`AND w.mode = ${filter.mode}`}
      ${filter.endCustomerId ? sql`AND w.end_customer_id = ${filter.endCustomerId}` : sql``}`
  return row!
}

export interface TopUpRow {
  payment_intent_id: string
  wallet_id: string
  mode: Mode
  amount_nano: string
  net_nano: string
  margin_nano: string
  markup_bps: number
  refunded_nano: string
  created_at: Date
  end_customer_id: string
  external_id: string
}

export function projectTopUps(sql: Sql, projectId: string, filter: ProjectFilter, limit: number): Promise<TopUpRow[]> {
  return sql<TopUpRow[]>`
    SELECT t.payment_intent_id, t.wallet_id, t.mode, t.amount_nano, t.net_nano, t.margin_nano, t.markup_bps, t.refunded_nano, t.created_at,
           c.id AS end_customer_id, c.external_id
    FROM top_ups t
    JOIN end_user_wallets w ON w.id = t.wallet_id
    JOIN end_customers c ON c.id = w.end_customer_id
    WHERE t.project_id = ${projectId}
      ${filter.mode === null ? sql`` : sql`AND t.mode = ${filter.mode}`}
      ${filter.endCustomerId ? sql`AND c.id = ${filter.endCustomerId}` : sql``}
    ORDER BY t.created_at DESC, t.payment_intent_id DESC
    LIMIT ${limit}`
}

export interface MarginRow {
  id: string
  kind: string
  amount_nano: string
  markup_bps: number
  payment_intent_id: string | null
  reference: string
  created_at: Date
}

/** The project's margin rows (live top-ups earn it, refunds give it back), newest first. */
export function projectMarginEntries(sql: Sql, projectId: string, limit: number): Promise<MarginRow[]> {
  return sql<MarginRow[]>`
    SELECT id, kind, amount_nano, markup_bps, payment_intent_id, reference, created_at
    FROM margin_ledger WHERE project_id = ${projectId}
    ORDER BY id DESC
    LIMIT ${limit}`
}

/** The project's margin: earned on live top-ups, given back on refunds, and the net (payouts are per account, from all its projects). */
export async function projectMarginTotals(sql: Sql, projectId: string): Promise<{ earned_nano: string; refunded_nano: string; net_nano: string }> {
  const [row] = await sql<{ earned_nano: string; refunded_nano: string; net_nano: string }[]>`
    SELECT coalesce(sum(amount_nano) FILTER (WHERE kind = 'top_up'), 0)::bigint AS earned_nano,
           coalesce(-sum(amount_nano) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_nano,
           coalesce(sum(amount_nano), 0)::bigint AS net_nano
    FROM margin_ledger WHERE project_id = ${projectId}`
  return row!
}

export interface ProjectEndpointRow {
  id: string
  url: string
  mode: Mode
  enabled_events: string[]
  status: 'enabled' | 'disabled'
  disabled_reason: string | null
  created_at: Date
  deliveries_24h: string
  failed_24h: string
  last_delivery_at: Date | null
  last_status_code: number | null
}

/** The project's live endpoints (both modes, as its secret keys registered them) with a day's delivery counts; never the secret. */
export function projectEndpoints(sql: Sql, projectId: string): Promise<ProjectEndpointRow[]> {
  return sql<ProjectEndpointRow[]>`
    SELECT e.id, e.url, e.mode, e.enabled_events, e.status, e.disabled_reason, e.created_at,
           coalesce(d.total, 0)::bigint AS deliveries_24h, coalesce(d.failed, 0)::bigint AS failed_24h,
           last.created_at AS last_delivery_at, last.status_code AS last_status_code
    FROM webhook_endpoints e
    LEFT JOIN LATERAL (
      SELECT count(*) AS total, count(*) FILTER (WHERE status_code IS NULL OR status_code NOT BETWEEN 200 AND 299) AS failed
      FROM webhook_deliveries WHERE endpoint_id = e.id AND created_at > now() - interval '24 hours'
    ) d ON true
    LEFT JOIN LATERAL (
      SELECT created_at, status_code FROM webhook_deliveries WHERE endpoint_id = e.id ORDER BY id DESC LIMIT 1
    ) last ON true
    WHERE e.project_id = ${projectId} AND e.deleted_at IS NULL
    ORDER BY e.created_at, e.id`
}

/** Is this a live endpoint of the project (either mode)? */
export async function isProjectEndpoint(sql: Sql, projectId: string, endpointId: string): Promise<boolean> {
  const [row] = await sql`SELECT 1 FROM webhook_endpoints WHERE id = ${endpointId} AND project_id = ${projectId} AND deleted_at IS NULL`
  return row !== undefined
}
