// Top-up queries: the once-per-PaymentIntent credit (wallet ledger, top-up row, margin row in one transaction) and refund reversals.
import type { Queryable as Sql } from '../../lib/db'
import type { Mode } from './projects'

/** The same lock ledger credits and wallet snapshots take (src/db/queries/ledger.ts), so a snapshot's watermark stays exact. */
const lockHolder = (sql: Sql, holder: string) => sql`SELECT pg_advisory_xact_lock(hashtextextended(${`ledger:${holder}`}, 0))`

export interface TopUpRow {
  payment_intent_id: string
  wallet_id: string
  project_id: string
  mode: Mode
  amount_nano: string
  net_nano: string
  margin_nano: string
  markup_bps: number
  refunded_nano: string
}

export interface TopUpCredit {
  paymentIntentId: string
  walletId: string
  ledgerAccountId: string
  projectId: string
  accountId: string
  mode: Mode
  amountNano: bigint
  netNano: bigint
  /** Recorded in the margin ledger when > 0 (live mode only: the caller passes 0 in test mode). */
  marginNano: bigint
  markupBps: number
}

/** Inside a transaction that already recorded the Stripe event (or not: a replay of a new event id still credits once). */
export async function creditTopUp(tx: Sql, credit: TopUpCredit): Promise<{ ledgerId: string; created: boolean }> {
  await lockHolder(tx, credit.ledgerAccountId)
  const inserted = await tx`
    INSERT INTO top_ups (payment_intent_id, wallet_id, project_id, mode, amount_nano, net_nano, margin_nano, markup_bps)
    VALUES (${credit.paymentIntentId}, ${credit.walletId}, ${credit.projectId}, ${credit.mode}, ${credit.amountNano.toString()},
            ${credit.netNano.toString()}, ${credit.marginNano.toString()}, ${credit.markupBps})
    ON CONFLICT (payment_intent_id) DO NOTHING
    RETURNING payment_intent_id`
  if (inserted.length === 0) {
    const [existing] = await tx<{ id: string }[]>`SELECT id FROM ledger WHERE reference = ${credit.paymentIntentId}`
    return { ledgerId: existing!.id, created: false }
  }
  const [row] = await tx<{ id: string }[]>`
    INSERT INTO ledger (account_id, kind, amount_nano, reference, reason, markup_bps)
    VALUES (${credit.ledgerAccountId}, 'credit', ${credit.netNano.toString()}, ${credit.paymentIntentId}, 'top-up', ${credit.markupBps})
    RETURNING id`
  if (credit.marginNano > 0n) {
    await tx`
      INSERT INTO margin_ledger (project_id, account_id, kind, amount_nano, markup_bps, payment_intent_id, reference)
      VALUES (${credit.projectId}, ${credit.accountId}, 'top_up', ${credit.marginNano.toString()}, ${credit.markupBps},
              ${credit.paymentIntentId}, ${`margin:${credit.paymentIntentId}`})`
  }
  return { ledgerId: row!.id, created: true }
}

export async function findTopUp(sql: Sql, paymentIntentId: string): Promise<TopUpRow | null> {
  const [row] = await sql<TopUpRow[]>`SELECT * FROM top_ups WHERE payment_intent_id = ${paymentIntentId}`
  return row ?? null
}

export interface TopUpReversal {
  paymentIntentId: string
  ledgerAccountId: string
  accountId: string
  projectId: string
  markupBps: number
  /** The gross refunded in total after this refund; the row's refunded_nano becomes this. */
  refundedNano: bigint
  /** What the wallet gave back (already taken from Redis), and the margin given back. */
  walletNano: bigint
  marginNano: bigint
  /** Net the refund should have reversed but the wallet no longer had (spent): written in the row's reason. */
  shortfallNano: bigint
  reference: string
}

/** The top-up, locked until the transaction ends: refunds of one PaymentIntent are computed one at a time. */
export async function lockTopUp(tx: Sql, paymentIntentId: string): Promise<TopUpRow | null> {
  const [row] = await tx<TopUpRow[]>`SELECT * FROM top_ups WHERE payment_intent_id = ${paymentIntentId} FOR UPDATE`
  return row ?? null
}

/** Writes one refund's reversal (in the transaction that locked the top-up): the wallet's negative adjustment, the margin's negative row, the new refunded total. */
export async function writeReversal(tx: Sql, reversal: TopUpReversal): Promise<void> {
  await lockHolder(tx, reversal.ledgerAccountId)
  const reason = reversal.shortfallNano > 0n ? `refund (${reversal.shortfallNano} nano-USD already spent, not reversed)` : 'refund'
  await tx`
    INSERT INTO ledger (account_id, kind, amount_nano, reference, reason, markup_bps)
    VALUES (${reversal.ledgerAccountId}, 'adjustment', ${(-reversal.walletNano).toString()}, ${reversal.reference}, ${reason}, ${reversal.markupBps})`
  if (reversal.marginNano > 0n) {
    await tx`
      INSERT INTO margin_ledger (project_id, account_id, kind, amount_nano, markup_bps, payment_intent_id, reference)
      VALUES (${reversal.projectId}, ${reversal.accountId}, 'refund', ${(-reversal.marginNano).toString()}, ${reversal.markupBps},
              ${reversal.paymentIntentId}, ${`margin:${reversal.reference}`})`
  }
  await tx`UPDATE top_ups SET refunded_nano = ${reversal.refundedNano.toString()}, updated_at = now() WHERE payment_intent_id = ${reversal.paymentIntentId}`
}

/** Σ margin of a project (what a payout may transfer). */
export async function marginBalance(sql: Sql, projectId: string): Promise<bigint> {
  const [row] = await sql<{ total: string }[]>`SELECT coalesce(sum(amount_nano), 0)::bigint AS total FROM margin_ledger WHERE project_id = ${projectId}`
  return BigInt(row!.total)
}
