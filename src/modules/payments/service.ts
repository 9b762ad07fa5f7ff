// The x402 payments of a month for the admin: one page in (started_at, request_id) order, with the month's totals.
import { listX402Payments, x402PaymentTotals, type X402PaymentRow } from '../../db/queries/x402-payments'
import type { Sql } from '../../lib/db'
import { InvalidRequestError } from '../../errors'
import { parsePeriod } from '../usage/period'

export interface PaymentsDeps {
  sql: Sql
}

export async function listPayments(deps: PaymentsDeps, period: string, limit: number, startingAfter?: string) {
  const { start, end } = parsePeriod(period)
  const [rows, totals] = await Promise.all([listX402Payments(deps.sql, start, end, limit, startingAfter), x402PaymentTotals(deps.sql, start, end)])
  if (rows === null) throw new InvalidRequestError(`No payment with request_id '${startingAfter}' (starting_after).`, 'starting_after', 'invalid_value')
  const page = rows.slice(0, limit)
  return {
    object: 'list',
    period,
    from: start.toISOString(),
    to: end.toISOString(),
    totals,
    data: page.map(publicPayment),
    has_more: rows.length > limit,
  }
}

function publicPayment(p: X402PaymentRow) {
  return {
    request_id: p.request_id,
    route: p.route,
    payer: p.payer,
    network: p.network,
    asset: p.asset,
    pay_to: p.pay_to,
    amount_atomic: p.amount_atomic,
    amount_nano: p.amount_nano,
    scheme: p.scheme,
    transaction: p.transaction,
    status: p.status,
    started_at: p.started_at.toISOString(),
  }
}
