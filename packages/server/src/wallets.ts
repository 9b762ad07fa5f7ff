// wallets: read an end-user wallet and grant it credits (idempotent with an idempotency key). Amounts are decimal USD strings.
import { request, segment, usdString, type Transport } from './http'
import type { Mode } from './sessions'

export interface Wallet {
  id: string
  endCustomerId: string
  mode: Mode
  /** Available plus held, USD ("8.333333333"). */
  balance: string
  held: string
  available: string
  currency: 'USD'
  status: 'active' | 'frozen'
}

export interface WalletCreditParams {
  walletId: string
  /** USD to add: a number (5) or a decimal string ("5.00"). */
  amount: number | string
  reason?: string
  /** The credit is added once per key, however often it is retried (recommended). */
  idempotencyKey?: string
}

export interface WalletCredit {
  ledgerId: string
  walletId: string
  amount: string
  /** false: a replay of an earlier credit with the same idempotency key. */
  created: boolean
  /** The wallet's ledger balance after the credit. */
  balance: string
}

interface WalletWire {
  id: string
  end_customer_id: string
  mode: Mode
  balance_usd: string
  held_usd: string
  available_usd: string
  currency: 'USD'
  status: 'active' | 'frozen'
}

export function walletsResource(transport: Transport) {
  return {
    /** GET /v1/wallets/{id}: a wallet of the key's project and mode. */
    async retrieve(walletId: string): Promise<Wallet> {
      const wire = await request<WalletWire>(transport, 'GET', `/v1/wallets/${segment('walletId', walletId)}`)
      return {
        id: wire.id,
        endCustomerId: wire.end_customer_id,
        mode: wire.mode,
        balance: wire.balance_usd,
        held: wire.held_usd,
        available: wire.available_usd,
        currency: wire.currency,
        status: wire.status,
      }
    },
    /** POST /v1/wallets/{id}/credit: one ledger credit (per idempotency key), spendable at once. */
    async credit(params: WalletCreditParams): Promise<WalletCredit> {
      const wire = await request<{ ledger_id: string; wallet_id: string; amount_usd: string; created: boolean; balance_usd: string }>(
        transport,
        'POST',
        `/v1/wallets/${segment('walletId', params.walletId)}/credit`,
        {
          body: { amount_usd: usdString('amount', params.amount), ...(params.reason !== undefined ? { reason: params.reason } : {}) },
          ...(params.idempotencyKey !== undefined ? { idempotencyKey: params.idempotencyKey } : {}),
        },
      )
      return { ledgerId: wire.ledger_id, walletId: wire.wallet_id, amount: wire.amount_usd, created: wire.created, balance: wire.balance_usd }
    },
  }
}
