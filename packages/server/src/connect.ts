// connect: payouts of the account's margin through Stripe Connect — an onboarding link, the account's status, a payout.
import { request, type Transport } from './http'

export interface OnboardingLink {
  /** Send the developer here to finish Stripe's onboarding. */
  url: string
  accountId: string
  expiresAt: string
}

export interface ConnectStatus {
  /** The Stripe connected account (acct_…), null before the first onboarding link. */
  accountId: string | null
  onboarded: boolean
  payoutsEnabled: boolean
  /** Margin accrued and not yet paid out or reserved, USD ("1.666666667"). */
  marginBalance: string
}

export interface Payout {
  /** po_…: also the Stripe transfer's idempotency key. */
  id: string
  amount: string
  /** pending: reserved, the transfer not confirmed yet; failed: Stripe refused it and the margin was released. */
  status: 'pending' | 'paid' | 'failed'
  transferId: string | null
  /** The connected account (acct_…). */
  destination: string
  failureReason: string | null
  createdAt: string
}

interface PayoutWire {
  id: string
  amount_usd: string
  status: Payout['status']
  transfer_id: string | null
  destination: string
  failure_reason: string | null
  created_at: string
}

const payout = (wire: PayoutWire): Payout => ({
  id: wire.id,
  amount: wire.amount_usd,
  status: wire.status,
  transferId: wire.transfer_id,
  destination: wire.destination,
  failureReason: wire.failure_reason,
  createdAt: wire.created_at,
})

export function connectResource(transport: Transport) {
  return {
    /** POST /v1/connect/onboard: creates the Express account once, then a fresh account link each time. */
    async createOnboardingLink(params: { refreshUrl: string; returnUrl: string }): Promise<OnboardingLink> {
      const wire = await request<{ url: string; account_id: string; expires_at: string }>(transport, 'POST', '/v1/connect/onboard', {
        body: { refresh_url: params.refreshUrl, return_url: params.returnUrl },
      })
      return { url: wire.url, accountId: wire.account_id, expiresAt: wire.expires_at }
    },
    /** GET /v1/connect/status: as Stripe reports the account now, and the margin that can be paid out. */
    async status(): Promise<ConnectStatus> {
      const wire = await request<{ account_id: string | null; onboarded: boolean; payouts_enabled: boolean; margin_balance_usd: string }>(transport, 'GET', '/v1/connect/status')
      return { accountId: wire.account_id, onboarded: wire.onboarded, payoutsEnabled: wire.payouts_enabled, marginBalance: wire.margin_balance_usd }
    },
    /**
     * POST /v1/connect/payouts: transfers the whole accrued margin (whole cents, at least $1) to the connected account;
     * resolves with the paid payout. Refused: MeterwayError `payout_below_minimum`, `payout_in_progress`,
     * `connect_not_onboarded`, `transfer_failed` (the margin is available again) or `payout_pending` (the margin stays
     * reserved; a later call completes that payout).
     */
    async payout(params: { idempotencyKey?: string } = {}): Promise<Payout> {
      const wire = await request<PayoutWire>(transport, 'POST', '/v1/connect/payouts', {
        body: {},
        ...(params.idempotencyKey !== undefined ? { idempotencyKey: params.idempotencyKey } : {}),
      })
      return payout(wire)
    },
    /** GET /v1/connect/payouts: the account's payouts, newest first. */
    async listPayouts(params: { limit?: number } = {}): Promise<{ payouts: Payout[] }> {
      const wire = await request<{ data: PayoutWire[] }>(transport, 'GET', '/v1/connect/payouts', { query: { limit: params.limit } })
      return { payouts: wire.data.map(payout) }
    },
  }
}
