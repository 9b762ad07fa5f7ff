// Ledger queries: credits (idempotent, serialised per account), balances, and the snapshot a wallet is rebuilt from.
import type { Queryable as Sql, Sql as Pool } from '../../lib/db'

/**
 * Credits and wallet snapshots of one account take this lock, so a snapshot's watermark (its highest ledger id)
 * tells exactly which credits it includes: a credit committed after it has a higher id.
 */
const lockAccount = (sql: Sql, accountId: string) => sql`SELECT pg_advisory_xact_lock(hashtextextended(${`ledger:${accountId}`}, 0))`

export interface LedgerRow {
  id: string
  kind: 'credit' | 'usage' | 'adjustment'
  amount_nano: string
  reference: string
  reason: string
  created_at: Date
}

/** Inserts a credit once per reference; returns its row, and whether this call created it. */
export async function insertCredit(sql: Pool, accountId: string, amountNano: bigint, reference: string, reason: string) {
  return sql.begin(async (tx) => {
    await lockAccount(tx, accountId)
    const [created] = await tx<LedgerRow[]>`
      INSERT INTO ledger (account_id, kind, amount_nano, reference, reason)
      VALUES (${accountId}, 'credit', ${amountNano.toString()}, ${reference}, ${reason})
      ON CONFLICT (reference) DO NOTHING
      RETURNING *`
    if (created) return { row: created, created: true }
    const [existing] = await tx<LedgerRow[]>`SELECT * FROM ledger WHERE reference = ${reference}`
    return { row: existing!, created: false }
  })
}

export interface WalletSnapshot {
  balanceNano: bigint
  monthSpendNano: bigint
  /** The highest ledger id the balance includes. */
  watermark: string
  /** Of the request ids asked about, those already in usage_events. */
  postedRequestIds: string[]
}

export async function walletSnapshot(sql: Pool, accountId: string, monthStart: Date, unpostedIds: string[]): Promise<WalletSnapshot> {
  return sql.begin(async (tx) => {
    await lockAccount(tx, accountId)
    const [ledger] = await tx<{ balance: string; watermark: string }[]>`
      SELECT coalesce(sum(amount_nano), 0)::bigint AS balance, coalesce(max(id), 0)::bigint AS watermark
      FROM ledger WHERE account_id = ${accountId}`
    const [spend] = await tx<{ spend: string }[]>`
      SELECT coalesce(sum(cost_nano), 0)::bigint AS spend FROM usage_events
      WHERE account_id = ${accountId} AND started_at >= ${monthStart}`
    const posted =
      unpostedIds.length === 0 ? [] : await tx<{ request_id: string }[]>`SELECT request_id FROM usage_events WHERE request_id = ANY(${unpostedIds})`
    return {
      balanceNano: BigInt(ledger!.balance),
      monthSpendNano: BigInt(spend!.spend),
      watermark: ledger!.watermark,
      postedRequestIds: posted.map((row) => row.request_id),
    }
  })
}

export async function ledgerBalance(sql: Sql, accountId: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`SELECT coalesce(sum(amount_nano), 0)::bigint AS balance FROM ledger WHERE account_id = ${accountId}`
  return BigInt(row!.balance)
}

export function recentLedger(sql: Sql, accountId: string, limit = 20): Promise<LedgerRow[]> {
  return sql<LedgerRow[]>`SELECT * FROM ledger WHERE account_id = ${accountId} ORDER BY id DESC LIMIT ${limit}`
}
