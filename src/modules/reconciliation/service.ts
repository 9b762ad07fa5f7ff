// Reconciliation of usage cost in Postgres against what was reported to Stripe, per customer and month, and the refused batches awaiting a manual adjustment.
import { refusedBatches, stripeSide, usageSide, type RefusedBatch } from '../../db/queries/stripe-report'
import type { Sql } from '../../lib/db'
import { parsePeriod } from '../usage/period'

export interface ReconciliationDeps {
  sql: Sql
}

/**
 * Per account with a Stripe customer, all in nano-USD: cost of the reportable usage (postpaid and capped; prepaid is
 * paid from the wallet), how much of it Stripe has (sent), will get (pending: claimed, not sent yet; unclaimed: not
 * batched yet), and will never get (refused: manual adjustment). difference = cost − reported − refused: zero once the
 * reporter has drained. `stripe` lists what the meter events carried per meter (micro-USD or tokens); in spend mode
 * Σ sent micro-USD × 1000 + the carried sub-micro remainder = reported nano-USD.
 */
export async function reconcile(deps: ReconciliationDeps, period: string) {
  const { start, end } = parsePeriod(period)
  const [usage, stripe] = await Promise.all([usageSide(deps.sql, start, end), stripeSide(deps.sql, start, end)])
  const meters = new Map<string, { event_name: string; sent: string; pending: string; refused: string }[]>()
  for (const m of stripe) {
    const list = meters.get(m.account_id) ?? []
    list.push({ event_name: m.event_name, sent: m.sent, pending: m.pending, refused: m.refused })
    meters.set(m.account_id, list)
  }
  const sum = { cost_nano: 0n, reported_nano: 0n, pending_nano: 0n, unclaimed_nano: 0n, refused_nano: 0n, difference_nano: 0n }
  const customers = usage.map((u) => {
    const row = {
      cost_nano: BigInt(u.cost_nano),
      reported_nano: BigInt(u.reported_nano),
      pending_nano: BigInt(u.pending_nano),
      unclaimed_nano: BigInt(u.unclaimed_nano),
      refused_nano: BigInt(u.refused_nano),
      difference_nano: 0n,
    }
    row.difference_nano = row.cost_nano - row.reported_nano - row.refused_nano
    for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += row[key]
    return { account_id: u.account_id, customer: u.customer, ...stringify(row), stripe: meters.get(u.account_id) ?? [] }
  })
  return { object: 'reconciliation', period, from: start.toISOString(), to: end.toISOString(), totals: stringify(sum), customers }
}

/** bigint sums as decimal strings: JSON numbers lose exactness above 2^53 nano-USD. */
function stringify<T extends Record<string, bigint>>(row: T): { [K in keyof T]: string } {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v.toString()])) as { [K in keyof T]: string }
}

export async function manualAdjustments(deps: ReconciliationDeps, period: string | undefined, limit: number) {
  const bounds = period ? parsePeriod(period) : undefined
  const rows = await refusedBatches(deps.sql, limit, bounds?.start, bounds?.end)
  return { object: 'list', data: rows.map(publicBatch) }
}

function publicBatch(b: RefusedBatch) {
  return {
    batch_id: b.id,
    account_id: b.account_id,
    customer: b.customer,
    event_name: b.event_name,
    value: b.value,
    cost_nano: b.cost_nano,
    window_start: b.window_start.toISOString(),
    window_end: b.window_end.toISOString(),
    attempts: b.attempts,
    reason: b.last_error,
    flagged_at: b.created_at.toISOString(),
  }
}
