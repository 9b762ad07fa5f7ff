// Account (agent) queries: create, read, and the few fields the admin API and Stripe change.
import type { Queryable as Sql } from '../../lib/db'

export interface AccountRow {
  id: string
  name: string
  description: string
  capabilities: string[]
  subscription_status: string
  stripe_customer_id: string | null
  stripe_subscription_id: string | null
  spend_cap_nano: string | null
  rpm_limit: number | null
  tpm_limit: number | null
  created_at: Date
}

export interface NewAccount {
  id: string
  name: string
  description: string
  capabilities: string[]
}

/** Inserts the account; false if the id is taken. */
export async function insertAccount(sql: Sql, account: NewAccount): Promise<boolean> {
  const rows = await sql`
    INSERT INTO accounts (id, name, description, capabilities)
    VALUES (${account.id}, ${account.name}, ${account.description}, ${sql.json(account.capabilities)})
    ON CONFLICT (id) DO NOTHING
    RETURNING id`
  return rows.length === 1
}

export async function findAccount(sql: Sql, id: string): Promise<AccountRow | null> {
  const [row] = await sql<AccountRow[]>`SELECT * FROM accounts WHERE id = ${id}`
  return row ?? null
}

export async function findAccountByStripeCustomer(sql: Sql, customerId: string): Promise<AccountRow | null> {
  const [row] = await sql<AccountRow[]>`SELECT * FROM accounts WHERE stripe_customer_id = ${customerId}`
  return row ?? null
}

/** Records the Stripe customer once; returns the customer id the account ends up with (a concurrent first call may win). */
export async function setStripeCustomer(sql: Sql, accountId: string, customerId: string): Promise<string | null> {
  const [row] = await sql<{ stripe_customer_id: string | null }[]>`
    UPDATE accounts SET stripe_customer_id = COALESCE(stripe_customer_id, ${customerId}), updated_at = now()
    WHERE id = ${accountId}
    RETURNING stripe_customer_id`
  return row?.stripe_customer_id ?? null
}

/** Sets the subscription status (and subscription id when known); false if no such account. */
export async function setSubscriptionStatus(sql: Sql, accountId: string, status: string, subscriptionId: string | null = null): Promise<boolean> {
  const rows = await sql`
    UPDATE accounts
    SET subscription_status = ${status},
        stripe_subscription_id = COALESCE(${subscriptionId}, stripe_subscription_id),
        updated_at = now()
    WHERE id = ${accountId}
    RETURNING id`
  return rows.length === 1
}

export async function setSpendCap(sql: Sql, accountId: string, capNano: bigint | null): Promise<boolean> {
  const rows = await sql`
    UPDATE accounts SET spend_cap_nano = ${capNano === null ? null : capNano.toString()}, updated_at = now()
    WHERE id = ${accountId} RETURNING id`
  return rows.length === 1
}

/** The limits that are given change; an omitted one keeps its value. Returns both after the change, or null: no such account. */
export async function setLimits(
  sql: Sql,
  accountId: string,
  changes: { rpm?: number | null; tpm?: number | null },
): Promise<{ rpm: number | null; tpm: number | null } | null> {
  const rows = await sql<{ rpm_limit: number | null; tpm_limit: number | null }[]>`
    UPDATE accounts SET
      rpm_limit = CASE WHEN ${changes.rpm !== undefined} THEN ${changes.rpm ?? null}::integer ELSE rpm_limit END,
      tpm_limit = CASE WHEN ${changes.tpm !== undefined} THEN ${changes.tpm ?? null}::integer ELSE tpm_limit END,
      updated_at = now()
    WHERE id = ${accountId} RETURNING rpm_limit, tpm_limit`
  return rows[0] ? { rpm: rows[0].rpm_limit, tpm: rows[0].tpm_limit } : null
}
