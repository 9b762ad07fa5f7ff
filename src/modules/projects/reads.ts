// What an account reads about one of its projects (the dashboard's data): keys, customers, daily usage per model, the wallets' ledger with top-ups and margin, webhook endpoints and their deliveries.
import { listCustomersOfProject } from '../../db/queries/end-customers'
import { findOwnProject, type Mode } from '../../db/queries/projects'
import {
  isProjectEndpoint,
  listProjectKeys,
  projectEndpoints,
  projectMarginEntries,
  projectMarginTotals,
  projectTopUps,
  projectUsageByDay,
  projectWalletEntries,
  projectWalletTotals,
  type ProjectFilter,
} from '../../db/queries/project-reads'
import { listDeliveries } from '../../db/queries/webhooks'
import { NotFoundError } from '../../errors'
import { formatNanoAsUsd } from '../../pricing/money'
import type { Principal } from '../auth/service'
import { customerBody } from '../customers/service'
import { isoSeconds, type Period } from '../usage/period'
import { accountOf, type ProjectServiceDeps } from './service'

type Deps = Pick<ProjectServiceDeps, 'sql'>

const usd = (nano: string | bigint) => formatNanoAsUsd(BigInt(nano))

/** The project if the caller's account owns it; another account's is a 404, as one that does not exist. */
async function ownProject(deps: Deps, principal: Principal, projectId: string) {
  const project = await findOwnProject(deps.sql, accountOf(principal), projectId)
  if (!project) throw new NotFoundError(`No project '${projectId}'.`, 'project_not_found', 'id')
  return project
}

export async function projectKeys(deps: Deps, principal: Principal, projectId: string) {
  await ownProject(deps, principal, projectId)
  const rows = await listProjectKeys(deps.sql, projectId)
  return {
    object: 'list' as const,
    data: rows.map((row) => ({
      id: row.id,
      object: 'project_key' as const,
      project_id: row.project_id,
      mode: row.mode,
      display: row.display,
      created_at: row.created_at.toISOString(),
      revoked_at: row.revoked_at?.toISOString() ?? null,
    })),
  }
}

export async function projectCustomers(deps: Deps, principal: Principal, projectId: string, mode: Mode | null, limit: number, startingAfter: string | null) {
  await ownProject(deps, principal, projectId)
  const rows = await listCustomersOfProject(deps.sql, projectId, mode, limit, startingAfter)
  return { object: 'list' as const, data: rows.slice(0, limit).map(customerBody), has_more: rows.length > limit }
}

interface DayTotals {
  requests: number
  input: number
  output: number
  cost_nano: bigint
}

const emptyTotals = (): DayTotals => ({ requests: 0, input: 0, output: 0, cost_nano: 0n })
const totalsBody = (totals: DayTotals) => ({ requests: totals.requests, input: totals.input, output: totals.output, cost_usd: usd(totals.cost_nano) })

/** Every UTC day of the period, as YYYY-MM-DD. */
function daysOf(period: Period): string[] {
  const days: string[] = []
  for (let day = period.start.getTime(); day < period.end.getTime(); day += 86_400_000) days.push(new Date(day).toISOString().slice(0, 10))
  return days
}

/** The month day by day (every day listed, quiet ones at zero), each split per model: what a stacked chart draws. */
export async function projectDailyUsage(deps: Deps, principal: Principal, projectId: string, period: Period, filter: ProjectFilter) {
  await ownProject(deps, principal, projectId)
  const rows = await projectUsageByDay(deps.sql, projectId, period.start, period.end, filter)
  const byDay = new Map(daysOf(period).map((day) => [day, { totals: emptyTotals(), models: new Map<string, DayTotals>() }]))
  const total = emptyTotals()
  const models = new Set<string>()
  for (const row of rows) {
    const day = byDay.get(row.day)
    if (!day) continue
    const add = (into: DayTotals) => {
      into.requests += Number(row.requests)
      into.input += Number(row.input)
      into.output += Number(row.output)
      into.cost_nano += BigInt(row.cost_nano)
    }
    const model = day.models.get(row.model) ?? emptyTotals()
    add(model)
    add(day.totals)
    add(total)
    day.models.set(row.model, model)
    models.add(row.model)
  }
  return {
    object: 'project_usage_daily' as const,
    project_id: projectId,
    period_start: isoSeconds(period.start),
    period_end: isoSeconds(new Date(period.end.getTime() - 1_000)),
    mode: filter.mode,
    end_customer_id: filter.endCustomerId ?? null,
    models: [...models].sort(),
    totals: totalsBody(total),
    days: [...byDay].map(([date, day]) => ({
      date,
      ...totalsBody(day.totals),
      by_model: Object.fromEntries([...day.models].map(([model, totals]) => [model, totalsBody(totals)])),
    })),
  }
}

/** The wallets' newest entries with their totals, the newest top-ups, and the margin the project earned (live top-ups less refunds; payouts are the account's). */
export async function projectLedger(deps: Deps, principal: Principal, projectId: string, filter: ProjectFilter, limit: number) {
  const project = await ownProject(deps, principal, projectId)
  const [entries, totals, topUps, margin, marginTotals] = await Promise.all([
    projectWalletEntries(deps.sql, projectId, filter, limit),
    projectWalletTotals(deps.sql, projectId, filter),
    projectTopUps(deps.sql, projectId, filter, limit),
    projectMarginEntries(deps.sql, projectId, limit),
    projectMarginTotals(deps.sql, projectId),
  ])
  return {
    object: 'project_ledger' as const,
    project_id: projectId,
    mode: filter.mode,
    end_customer_id: filter.endCustomerId ?? null,
    markup_bps: project.markup_bps,
    wallets: {
      credited_usd: usd(totals.credited_nano),
      spent_usd: usd(totals.spent_nano),
      adjusted_usd: usd(totals.adjusted_nano),
      balance_usd: usd(totals.balance_nano),
    },
    // What this project earned; paying it out is the account's (GET /v1/connect/status sums every project's).
    margin: { earned_usd: usd(marginTotals.earned_nano), refunded_usd: usd(marginTotals.refunded_nano), net_usd: usd(marginTotals.net_nano) },
    entries: entries.map((row) => ({
      id: row.id,
      kind: row.kind,
      amount_usd: usd(row.amount_nano),
      reference: row.reference,
      reason: row.reason,
      markup_bps: row.markup_bps,
      wallet_id: row.wallet_id,
      mode: row.mode,
      end_customer_id: row.end_customer_id,
      external_id: row.external_id,
      created_at: row.created_at.toISOString(),
    })),
    top_ups: topUps.map((row) => ({
      payment_intent_id: row.payment_intent_id,
      wallet_id: row.wallet_id,
      mode: row.mode,
      end_customer_id: row.end_customer_id,
      external_id: row.external_id,
      amount_usd: usd(row.amount_nano),
      net_usd: usd(row.net_nano),
      margin_usd: usd(row.margin_nano),
      markup_bps: row.markup_bps,
      refunded_usd: usd(row.refunded_nano),
      created_at: row.created_at.toISOString(),
    })),
    margin_entries: margin.map((row) => ({
      id: row.id,
      kind: row.kind,
      amount_usd: usd(row.amount_nano),
      markup_bps: row.markup_bps,
      payment_intent_id: row.payment_intent_id,
      reference: row.reference,
      created_at: row.created_at.toISOString(),
    })),
  }
}

export async function projectWebhookEndpoints(deps: Deps, principal: Principal, projectId: string) {
  await ownProject(deps, principal, projectId)
  const rows = await projectEndpoints(deps.sql, projectId)
  return {
    object: 'list' as const,
    data: rows.map((row) => ({
      id: row.id,
      object: 'webhook_endpoint' as const,
      url: row.url,
      mode: row.mode,
      enabled_events: row.enabled_events,
      status: row.status,
      disabled_reason: row.disabled_reason,
      created_at: row.created_at.toISOString(),
      deliveries_24h: Number(row.deliveries_24h),
      failed_24h: Number(row.failed_24h),
      last_delivery_at: row.last_delivery_at?.toISOString() ?? null,
      last_status_code: row.last_status_code,
    })),
  }
}

export async function projectEndpointDeliveries(deps: Deps, principal: Principal, projectId: string, endpointId: string, limit: number) {
  await ownProject(deps, principal, projectId)
  if (!(await isProjectEndpoint(deps.sql, projectId, endpointId))) {
    throw new NotFoundError(`No webhook endpoint '${endpointId}' in project '${projectId}'.`, 'webhook_endpoint_not_found', 'endpoint_id')
  }
  const rows = await listDeliveries(deps.sql, endpointId, limit)
  return {
    object: 'list' as const,
    data: rows.map((row) => ({
      id: String(row.id),
      event_id: row.event_id,
      event_type: row.event_type,
      attempt: row.attempt,
      status_code: row.status_code,
      error: row.error,
      latency_ms: row.latency_ms,
      response_excerpt: row.response_excerpt,
      created_at: row.created_at.toISOString(),
    })),
  }
}
