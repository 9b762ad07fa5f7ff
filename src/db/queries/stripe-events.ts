// Stripe event ids already applied: the insert is the "at most once" gate, run in the transaction of the event's effect.
import type { TransactionSql } from 'postgres'
import type { Sql } from '../../lib/db'

/** Records the event id; false when it was recorded before (a replay), in which case the caller applies nothing. */
export async function recordStripeEvent(sql: Sql | TransactionSql, id: string, type: string): Promise<boolean> {
  const rows = await sql`
    INSERT INTO stripe_events (id, type) VALUES (${id}, ${type})
    ON CONFLICT (id) DO NOTHING
    RETURNING id`
  return rows.length === 1
}

export async function hasStripeEvent(sql: Sql | TransactionSql, id: string): Promise<boolean> {
  const rows = await sql`SELECT 1 FROM stripe_events WHERE id = ${id}`
  return rows.length === 1
}

/**
 * Serialises the Stripe events of one account until the transaction ends: each effect reads the current status
 * and decides from it, so two events for the same account must not interleave their read and write.
 */
export async function lockAccountForStripeEvents(sql: TransactionSql, accountId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`stripe-account:${accountId}`}, 0))`
}
