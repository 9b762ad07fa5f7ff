// Which prepaid wallets (agents' own, or end users' against their project's threshold) a committed batch of usage debits took below their low-balance threshold.
import type { Sql } from '../../lib/db'

export interface LowBalanceCrossing {
  accountId: string
  /** The highest ledger id of the batch's debits: with the account, it names this crossing. */
  lastLedgerId: string
  balanceNano: bigint
  thresholdNano: bigint
}

/**
 * A wallet crossed when its balance before the batch's debits was at or above its threshold and is below it after.
 * Computed from the ledger rows the batch's request ids own, so a retried batch finds the same rows (and the same
 * crossing, which its event id then de-duplicates).
 */
export async function lowBalanceCrossings(sql: Sql, requestIds: string[], defaultThresholdNano: bigint): Promise<LowBalanceCrossing[]> {
  if (requestIds.length === 0) return []
  const rows = await sql<{ account_id: string; last_id: string; debited: string; balance: string; threshold: string }[]>`
    WITH batch AS (
      SELECT account_id, sum(amount_nano) AS debited, max(id) AS last_id
      FROM ledger WHERE reference = ANY(${requestIds}) AND kind = 'usage'
      GROUP BY account_id
    )
    SELECT b.account_id, b.last_id, b.debited,
           (SELECT sum(amount_nano) FROM ledger l WHERE l.account_id = b.account_id) AS balance,
           coalesce(a.low_balance_threshold_nano, ${defaultThresholdNano.toString()}::bigint) AS threshold
    FROM batch b JOIN accounts a ON a.id = b.account_id`
  return rows
    .filter((row) => BigInt(row.balance) - BigInt(row.debited) >= BigInt(row.threshold) && BigInt(row.balance) < BigInt(row.threshold))
    .map((row) => ({ accountId: row.account_id, lastLedgerId: row.last_id, balanceNano: BigInt(row.balance), thresholdNano: BigInt(row.threshold) }))
}

export async function setLowBalanceThreshold(sql: Sql, accountId: string, thresholdNano: bigint | null): Promise<boolean> {
  const rows = await sql`
    UPDATE accounts SET low_balance_threshold_nano = ${thresholdNano === null ? null : thresholdNano.toString()}, updated_at = now()
    WHERE id = ${accountId} RETURNING id`
  return rows.length === 1
}

export interface WalletLowBalanceCrossing extends LowBalanceCrossing {
  walletId: string
  endCustomerId: string
  projectId: string
  /** The project's account: its endpoints of this mode hear about it. */
  projectAccountId: string
  mode: string
}

/**
 * The same crossings for end users' wallets, against their project's threshold (a project without one hears nothing).
 * Separate from the accounts' query because a wallet's threshold is its project's, not its own.
 */
export async function walletLowBalanceCrossings(sql: Sql, requestIds: string[]): Promise<WalletLowBalanceCrossing[]> {
  if (requestIds.length === 0) return []
  const rows = await sql<
    { account_id: string; last_id: string; debited: string; balance: string; threshold: string; wallet_id: string; end_customer_id: string; project_id: string; project_account_id: string; mode: string }[]
  >`
    WITH batch AS (
      SELECT account_id, sum(amount_nano) AS debited, max(id) AS last_id
      FROM ledger WHERE reference = ANY(${requestIds}) AND kind = 'usage' AND account_id LIKE 'wallet:%'
      GROUP BY account_id
    )
    SELECT b.account_id, b.last_id, b.debited,
           (SELECT sum(amount_nano) FROM ledger l WHERE l.account_id = b.account_id) AS balance,
           p.low_balance_threshold_nano AS threshold,
           w.id AS wallet_id, w.end_customer_id, w.mode, p.id AS project_id, p.account_id AS project_account_id
    FROM batch b
    JOIN end_user_wallets w ON w.ledger_account_id = b.account_id
    JOIN projects p ON p.id = w.project_id
    WHERE p.low_balance_threshold_nano IS NOT NULL`
  return rows
    .filter((row) => BigInt(row.balance) - BigInt(row.debited) >= BigInt(row.threshold) && BigInt(row.balance) < BigInt(row.threshold))
    .map((row) => ({
      accountId: row.account_id,
      lastLedgerId: row.last_id,
      balanceNano: BigInt(row.balance),
      thresholdNano: BigInt(row.threshold),
      walletId: row.wallet_id,
      endCustomerId: row.end_customer_id,
      projectId: row.project_id,
      projectAccountId: row.project_account_id,
      mode: row.mode,
    }))
}
