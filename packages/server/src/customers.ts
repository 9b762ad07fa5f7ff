// customers: the project's end customers in the key's mode, a page at a time with balances and lifetime totals, or one with its recent ledger.
import { request, segment, type Transport } from './http'
import type { Mode } from './sessions'

export interface LedgerEntry {
  id: string
  kind: 'credit' | 'usage' | 'adjustment'
  /** USD; negative for usage. */
  amount: string
  reference: string
  reason: string
  createdAt: string
}

export interface Customer {
  id: string
  externalId: string
  email: string | null
  name: string | null
  mode: Mode
  wallet: { id: string; status: 'active' | 'frozen'; balance: string }
  lifetimeSpend: string
  lifetimeToppedUp: string
  createdAt: string
}

export interface CustomerDetail extends Customer {
  /** The last 20 entries of the wallet, newest first. */
  recentLedger: LedgerEntry[]
}

interface LedgerWire {
  id: string
  kind: LedgerEntry['kind']
  amount_usd: string
  reference: string
  reason: string
  created_at: string
}

interface CustomerWire {
  id: string
  external_id: string
  email: string | null
  name: string | null
  mode: Mode
  wallet: { id: string; status: 'active' | 'frozen'; balance_usd: string }
  lifetime_spend_usd: string
  lifetime_topped_up_usd: string
  created_at: string
}

export const ledgerEntry = (wire: LedgerWire): LedgerEntry => ({
  id: wire.id,
  kind: wire.kind,
  amount: wire.amount_usd,
  reference: wire.reference,
  reason: wire.reason,
  createdAt: wire.created_at,
})

const customer = (wire: CustomerWire): Customer => ({
  id: wire.id,
  externalId: wire.external_id,
  email: wire.email,
  name: wire.name,
  mode: wire.mode,
  wallet: { id: wire.wallet.id, status: wire.wallet.status, balance: wire.wallet.balance_usd },
  lifetimeSpend: wire.lifetime_spend_usd,
  lifetimeToppedUp: wire.lifetime_topped_up_usd,
  createdAt: wire.created_at,
})

export function customersResource(transport: Transport) {
  return {
    /** GET /v1/customers: oldest id first; pass the last id as startingAfter for the next page. */
    async list(params: { limit?: number; startingAfter?: string } = {}): Promise<{ customers: Customer[]; hasMore: boolean }> {
      const wire = await request<{ data: CustomerWire[]; has_more: boolean }>(transport, 'GET', '/v1/customers', {
        query: { limit: params.limit, starting_after: params.startingAfter },
      })
      return { customers: wire.data.map(customer), hasMore: wire.has_more }
    },
    /** GET /v1/customers/{id}: one customer with the last 20 entries of their wallet. */
    async retrieve(endCustomerId: string): Promise<CustomerDetail> {
      const wire = await request<CustomerWire & { recent_ledger: LedgerWire[] }>(transport, 'GET', `/v1/customers/${segment('endCustomerId', endCustomerId)}`)
      return { ...customer(wire), recentLedger: wire.recent_ledger.map(ledgerEntry) }
    },
  }
}
