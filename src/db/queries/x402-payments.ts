// x402 payment rows: idempotent batch inserts from the payments worker, and the admin listing of a period with keyset paging.
import type { Queryable as Sql } from '../../lib/db'
import type { X402PaymentRecord } from '../../x402/payment-record'

/** USDC has 6 decimals and nano-USD 9: one atomic unit is exactly 1,000 nano-USD. */
const NANO_PER_ATOMIC = 1000n

const COLUMNS = ['request_id', 'route', 'payer', 'network', 'asset', 'pay_to', 'amount_atomic', 'amount_nano', 'scheme', 'transaction', 'status', 'started_at'] as const

/** A record as it comes out of a job (JSON: startedAt is a string there). */
export type QueuedPaymentRecord = Omit<X402PaymentRecord, 'startedAt'> & { startedAt: Date | string }

function toRow(r: QueuedPaymentRecord) {
  return {
    request_id: r.requestId,
    route: r.route,
    payer: r.payer,
    network: r.network,
    asset: r.asset,
    pay_to: r.payTo,
    amount_atomic: r.amount,
    amount_nano: (BigInt(r.amount) * NANO_PER_ATOMIC).toString(),
    scheme: r.scheme,
    transaction: r.transaction,
    status: r.status,
    started_at: new Date(r.startedAt),
  }
}

/** One multi-row INSERT; a request id already stored (or twice in the batch) is kept as first written. Returns rows added. */
export async function insertX402Payments(sql: Sql, records: readonly QueuedPaymentRecord[]): Promise<number> {
  if (records.length === 0) return 0
  const result = await sql`INSERT INTO x402_payments ${sql(records.map(toRow), ...COLUMNS)} ON CONFLICT (request_id) DO NOTHING`
  return result.count
}

export interface X402PaymentRow {
  request_id: string
  route: string
  payer: string
  network: string
  asset: string
  pay_to: string
  amount_atomic: string
  amount_nano: string
  scheme: string
  transaction: string | null
  status: string
  started_at: Date
}

/**
 * Payments with from ≤ started_at < to in (started_at, request_id) order, after the row `after` (a request id) when
 * given; limit + 1 rows are read so the caller knows whether there are more. Null when `after` is not a stored payment.
 */
export async function listX402Payments(sql: Sql, from: Date, to: Date, limit: number, after?: string): Promise<X402PaymentRow[] | null> {
  if (after !== undefined) {
    const [cursor] = await sql<{ started_at: Date }[]>`SELECT started_at FROM x402_payments WHERE request_id = ${after}`
    if (!cursor) return null
    return sql<X402PaymentRow[]>`
      SELECT request_id, route, payer, network, asset, pay_to, amount_atomic::text, amount_nano::text, scheme, transaction, status, started_at
      FROM x402_payments
      WHERE started_at >= ${from} AND started_at < ${to} AND (started_at, request_id) > (${cursor.started_at}, ${after})
      ORDER BY started_at, request_id
      LIMIT ${limit + 1}`
  }
  return sql<X402PaymentRow[]>`
    SELECT request_id, route, payer, network, asset, pay_to, amount_atomic::text, amount_nano::text, scheme, transaction, status, started_at
    FROM x402_payments
    WHERE started_at >= ${from} AND started_at < ${to}
    ORDER BY started_at, request_id
    LIMIT ${limit + 1}`
}

export interface X402PaymentTotals {
  payments: string
  settled: string
  settled_atomic: string
}

/** The period's count of payments, of settled ones, and what was settled (atomic units, summed exactly). */
export async function x402PaymentTotals(sql: Sql, from: Date, to: Date): Promise<X402PaymentTotals> {
  const [row] = await sql<X402PaymentTotals[]>`
    SELECT count(*)::text AS payments,
           count(*) FILTER (WHERE status = 'settled')::text AS settled,
           coalesce(sum(amount_atomic) FILTER (WHERE status = 'settled'), 0)::text AS settled_atomic
    FROM x402_payments
    WHERE started_at >= ${from} AND started_at < ${to}`
  return row!
}
