// Billing-mode queries: whether an account pays after the fact (postpaid) or from its prepaid wallet.
import type { Queryable as Sql } from '../../lib/db'

export type BillingMode = 'postpaid' | 'prepaid'

/** Sets the account's billing mode; false if no such account. */
export async function setBillingMode(sql: Sql, accountId: string, mode: BillingMode): Promise<boolean> {
  const rows = await sql`UPDATE accounts SET billing_mode = ${mode}, updated_at = now() WHERE id = ${accountId} RETURNING id`
  return rows.length === 1
}
