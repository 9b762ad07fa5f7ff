// End customers and their wallets: created together on first sight, read by project and mode, the wallet frozen or not.
import type { Queryable as Sql } from '../../lib/db'
import type { Mode } from './projects'

export interface EndCustomerRow {
  id: string
  project_id: string
  external_id: string
  email: string | null
  name: string | null
  mode: Mode
  created_at: Date
}

export interface WalletRow {
  id: string
  end_customer_id: string
  project_id: string
  mode: Mode
  ledger_account_id: string
  status: 'active' | 'frozen'
  created_at: Date
}

export const walletLedgerAccount = (walletId: string) => `wallet:${walletId}`

export interface CustomerSighting {
  projectId: string
  externalId: string
  mode: Mode
  email: string | null
  name: string | null
  /** Ids for the customer and wallet if they are new. */
  newCustomerId: string
  newWalletId: string
}

/**
 * The customer and wallet of (project, external id, mode), created if new. One statement each, so two sessions minted
 * at once for a new user end with one customer and one wallet; a given email or name updates the stored one.
 */
export async function upsertCustomerWithWallet(sql: Sql, seen: CustomerSighting): Promise<{ customer: EndCustomerRow; wallet: WalletRow }> {
  const [customer] = await sql<EndCustomerRow[]>`
    INSERT INTO end_customers (id, project_id, external_id, email, name, mode)
    VALUES (${seen.newCustomerId}, ${seen.projectId}, ${seen.externalId}, ${seen.email}, ${seen.name}, ${seen.mode})
    ON CONFLICT (project_id, external_id, mode) DO UPDATE
      SET email = coalesce(EXCLUDED.email, end_customers.email), name = coalesce(EXCLUDED.name, end_customers.name)
    RETURNING *`
  await sql`
    INSERT INTO end_user_wallets (id, end_customer_id, project_id, mode, ledger_account_id)
    VALUES (${seen.newWalletId}, ${customer!.id}, ${seen.projectId}, ${seen.mode}, ${walletLedgerAccount(seen.newWalletId)})
    ON CONFLICT (end_customer_id) DO NOTHING`
  const [wallet] = await sql<WalletRow[]>`SELECT * FROM end_user_wallets WHERE end_customer_id = ${customer!.id}`
  return { customer: customer!, wallet: wallet! }
}

/** The wallet if it belongs to this project and mode; any other is not found. */
export async function findWallet(sql: Sql, projectId: string, mode: Mode, walletId: string): Promise<WalletRow | null> {
  const [row] = await sql<WalletRow[]>`SELECT * FROM end_user_wallets WHERE id = ${walletId} AND project_id = ${projectId} AND mode = ${mode}`
  return row ?? null
}

export async function findWalletById(sql: Sql, walletId: string): Promise<WalletRow | null> {
  const [row] = await sql<WalletRow[]>`SELECT * FROM end_user_wallets WHERE id = ${walletId}`
  return row ?? null
}

export async function setWalletStatus(sql: Sql, projectId: string, mode: Mode, walletId: string, status: 'active' | 'frozen'): Promise<WalletRow | null> {
  const [row] = await sql<WalletRow[]>`
    UPDATE end_user_wallets SET status = ${status}, updated_at = now()
    WHERE id = ${walletId} AND project_id = ${projectId} AND mode = ${mode}
    RETURNING *`
  return row ?? null
}

export interface CustomerListRow extends EndCustomerRow {
  wallet_id: string
  wallet_status: 'active' | 'frozen'
  ledger_account_id: string
  balance_nano: string
  spent_nano: string
  credited_nano: string
}

/** Ledger sums per customer: balance, lifetime spend (usage debits) and lifetime credits. */
const customerColumns = (sql: Sql) => sql`
  c.*, w.id AS wallet_id, w.status AS wallet_status, w.ledger_account_id,
  coalesce(l.balance, 0)::bigint AS balance_nano, coalesce(l.spent, 0)::bigint AS spent_nano, coalesce(l.credited, 0)::bigint AS credited_nano`
const ledgerSums = (sql: Sql) => sql`
  LEFT JOIN LATERAL (
    SELECT sum(amount_nano) AS balance,
           -sum(amount_nano) FILTER (WHERE kind = 'usage') AS spent,
           sum(amount_nano) FILTER (WHERE kind = 'credit') AS credited
    FROM ledger WHERE account_id = w.ledger_account_id
  ) l ON true`

/** One page of the project's customers in this mode, by id, after `startingAfter`; one more than `limit` tells if there are more. */
export function listCustomers(sql: Sql, projectId: string, mode: Mode, limit: number, startingAfter: string | null): Promise<CustomerListRow[]> {
  return sql<CustomerListRow[]>`
    SELECT ${customerColumns(sql)}
    FROM end_customers c JOIN end_user_wallets w ON w.end_customer_id = c.id
    ${ledgerSums(sql)}
    WHERE c.project_id = ${projectId} AND c.mode = ${mode} ${startingAfter === null ? sql`` : sql`AND c.id > ${startingAfter}`}
    ORDER BY c.id
    LIMIT ${limit + 1}`
}

export async function findCustomer(sql: Sql, projectId: string, mode: Mode, customerId: string): Promise<CustomerListRow | null> {
  const [row] = await sql<CustomerListRow[]>`
    SELECT ${customerColumns(sql)}
    FROM end_customers c JOIN end_user_wallets w ON w.end_customer_id = c.id
    ${ledgerSums(sql)}
    WHERE c.id = ${customerId} AND c.project_id = ${projectId} AND c.mode = ${mode}`
  return row ?? null
}

/** One page of the project's customers in one mode or both (the account's dashboard), by id, after `startingAfter`; one more than `limit`. */
export function listCustomersOfProject(sql: Sql, projectId: string, mode: Mode | null, limit: number, startingAfter: string | null): Promise<CustomerListRow[]> {
  return sql<CustomerListRow[]>`
    SELECT ${customerColumns(sql)}
    FROM end_customers c JOIN end_user_wallets w ON w.end_customer_id = c.id
    ${ledgerSums(sql)}
    WHERE c.project_id = ${projectId} ${mode === null ? sql`` : sql`AND c.mode = ${mode}`} ${startingAfter === null ? sql`` : sql`AND c.id > ${startingAfter}`}
    ORDER BY c.id
    LIMIT ${limit + 1}`
}
