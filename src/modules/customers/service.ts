// End customers of a project, in the key's mode: a page at a time with ledger totals, or one with its recent ledger.
import { findCustomer, listCustomers, type CustomerListRow } from '../../db/queries/end-customers'
import { recentLedger } from '../../db/queries/ledger'
import { NotFoundError } from '../../errors'
import type { Sql } from '../../lib/db'
import { formatNanoAsUsd } from '../../pricing/money'
import type { ProjectPrincipal } from '../auth/platform-credentials'
import { ledgerEntry } from '../wallet/service'

const RECENT_ENTRIES = 20

export function customerBody(row: CustomerListRow) {
  return {
    id: row.id,
    object: 'end_customer' as const,
    external_id: row.external_id,
    email: row.email,
    name: row.name,
    mode: row.mode,
    wallet: { id: row.wallet_id, status: row.wallet_status, balance_usd: formatNanoAsUsd(BigInt(row.balance_nano)) },
    lifetime_spend_usd: formatNanoAsUsd(BigInt(row.spent_nano)),
    lifetime_topped_up_usd: formatNanoAsUsd(BigInt(row.credited_nano)),
    created_at: row.created_at.toISOString(),
  }
}

export async function listProjectCustomers(sql: Sql, project: ProjectPrincipal, limit: number, startingAfter: string | null) {
  const rows = await listCustomers(sql, project.projectId, project.mode, limit, startingAfter)
  return { object: 'list' as const, data: rows.slice(0, limit).map(customerBody), has_more: rows.length > limit }
}

export async function readCustomer(sql: Sql, project: ProjectPrincipal, customerId: string) {
  const row = await findCustomer(sql, project.projectId, project.mode, customerId)
  if (!row) throw new NotFoundError(`No customer '${customerId}'.`, 'customer_not_found', 'id')
  const ledger = await recentLedger(sql, row.ledger_account_id, RECENT_ENTRIES)
  return { ...customerBody(row), recent_ledger: ledger.map(ledgerEntry) }
}
