// Connect queries: the account's connected account, its payable margin, and payouts as an insert-only ledger (reserve under a lock, then paid or released).
import type { Queryable, Sql } from '../../lib/db'

export interface ConnectAccountRow {
  account_id: string
  stripe_account_id: string
  created_at: Date
}

export type PayoutStatus = 'pending' | 'paid' | 'failed'

export interface PayoutRow {
  payout_id: string
  account_id: string
  amount_nano: string
  stripe_account_id: string
  status: PayoutStatus
  transfer_id: string | null
  reason: string
  created_at: Date
}

/** The lock every reservation of one account takes: two payouts never read the same balance. */
const lockAccount = (tx: Queryable, accountId: string) => tx`SELECT pg_advisory_xact_lock(hashtextextended(${`connect-payout:${accountId}`}, 0))`

export async function findConnectAccount(sql: Queryable, accountId: string): Promise<ConnectAccountRow | null> {
  const [row] = await sql<ConnectAccountRow[]>`SELECT * FROM connect_accounts WHERE account_id = ${accountId}`
  return row ?? null
}

/** The first stored account wins; a concurrent second gets the first's row back. */
export async function storeConnectAccount(sql: Queryable, accountId: string, stripeAccountId: string): Promise<ConnectAccountRow> {
  // No conflict target: two first calls racing insert the same pair, and the second may meet the stripe_account_id
  // index before the primary key's; either way the row that landed is the one read back.
  await sql`INSERT INTO connect_accounts (account_id, stripe_account_id) VALUES (${accountId}, ${stripeAccountId}) ON CONFLICT DO NOTHING`
  return (await findConnectAccount(sql, accountId))!
}

/** Σ margin − Σ reserved + Σ released, nano-USD (negative when refunds gave back margin already paid out). */
export async function payableMargin(sql: Queryable, accountId: string): Promise<bigint> {
  const [row] = await sql<{ payable: string }[]>`
    SELECT (SELECT coalesce(sum(amount_nano), 0) FROM margin_ledger WHERE account_id = ${accountId})
         - (SELECT coalesce(sum(CASE kind WHEN 'reserve' THEN amount_nano WHEN 'release' THEN -amount_nano ELSE 0 END), 0)
              FROM payout_ledger WHERE account_id = ${accountId}) AS payable`
  return BigInt(row!.payable)
}

export type Reservation = { kind: 'reserved'; amountNano: bigint } | { kind: 'too_little'; payableNano: bigint; pending: number }

/**
 * Reserves what the account can pay out, rounded down to whole `unitNano` (cents), if it is at least `minimumNano`;
 * under the account's lock, so a concurrent reservation waits and then sees this one.
 */
export async function reservePayout(
  sql: Sql,
  reservation: { payoutId: string; accountId: string; stripeAccountId: string; minimumNano: bigint; unitNano: bigint },
): Promise<Reservation> {
  return sql.begin(async (tx) => {
    await lockAccount(tx, reservation.accountId)
    const payable = await payableMargin(tx, reservation.accountId)
    const amount = payable > 0n ? (payable / reservation.unitNano) * reservation.unitNano : 0n
    if (amount < reservation.minimumNano) {
      const [open] = await tx<{ pending: number }[]>`
        SELECT count(*)::int AS pending FROM payout_ledger r
        WHERE r.account_id = ${reservation.accountId} AND r.kind = 'reserve'
          AND NOT EXISTS (SELECT 1 FROM payout_ledger o WHERE o.payout_id = r.payout_id AND o.kind IN ('paid', 'release'))`
      return { kind: 'too_little' as const, payableNano: payable, pending: open!.pending }
    }
    await tx`
      INSERT INTO payout_ledger (payout_id, account_id, kind, amount_nano, stripe_account_id, reason)
      VALUES (${reservation.payoutId}, ${reservation.accountId}, 'reserve', ${amount.toString()}, ${reservation.stripeAccountId}, 'payout reserved')`
    return { kind: 'reserved' as const, amountNano: amount }
  })
}

/** The payout's one outcome; false when it already had one (a concurrent retry recorded it first). */
export async function endPayout(sql: Queryable, payout: { payoutId: string; kind: 'paid' | 'release'; transferId: string | null; reason: string }): Promise<boolean> {
  const inserted = await sql`
    INSERT INTO payout_ledger (payout_id, account_id, kind, amount_nano, stripe_account_id, transfer_id, reason)
    SELECT payout_id, account_id, ${payout.kind}, amount_nano, stripe_account_id, ${payout.transferId}, ${payout.reason}
    FROM payout_ledger WHERE payout_id = ${payout.payoutId} AND kind = 'reserve'
    ON CONFLICT (payout_id) WHERE kind IN ('paid', 'release') DO NOTHING
    RETURNING id`
  return inserted.length === 1
}

const PAYOUT_SELECT = (sql: Queryable) => sql`
  SELECT r.payout_id, r.account_id, r.amount_nano, r.stripe_account_id, r.created_at,
         CASE o.kind WHEN 'paid' THEN 'paid' WHEN 'release' THEN 'failed' ELSE 'pending' END AS status,
         o.transfer_id, coalesce(o.reason, '') AS reason
  FROM payout_ledger r
  LEFT JOIN payout_ledger o ON o.payout_id = r.payout_id AND o.kind IN ('paid', 'release')
  WHERE r.kind = 'reserve'`

export async function findPayout(sql: Queryable, payoutId: string): Promise<PayoutRow | null> {
  const [row] = await sql<PayoutRow[]>`${PAYOUT_SELECT(sql)} AND r.payout_id = ${payoutId}`
  return row ?? null
}

/** The account's payouts, newest first. */
export async function listPayouts(sql: Queryable, accountId: string, limit: number): Promise<PayoutRow[]> {
  return sql<PayoutRow[]>`${PAYOUT_SELECT(sql)} AND r.account_id = ${accountId} ORDER BY r.id DESC LIMIT ${limit}`
}

/** Reservations without an outcome, created between `from` and `to` ago: transfers whose answer was lost, to retry. */
export async function unresolvedPayouts(sql: Queryable, accountId: string, olderThanMs: number, youngerThanMs: number): Promise<PayoutRow[]> {
  return sql<PayoutRow[]>`${PAYOUT_SELECT(sql)} AND r.account_id = ${accountId} AND o.id IS NULL
    AND r.created_at < now() - ${`${olderThanMs} milliseconds`}::interval
    AND r.created_at > now() - ${`${youngerThanMs} milliseconds`}::interval
    ORDER BY r.id`
}
