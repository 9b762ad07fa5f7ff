// TypeBox models of the Connect API: the onboarding link request and answer, the status, payouts.
import { t } from 'elysia'
import { IntegerParam, Text } from '../../lib/request-schemas'

export const PAYOUTS_LIMIT = { minimum: 1, maximum: 100 } as const

const payout = t.Object({
  id: t.String({ description: 'po_…; also the idempotency key of its Stripe transfer' }),
  object: t.Literal('payout'),
  amount_usd: t.String(),
  status: t.Union([t.Literal('pending'), t.Literal('paid'), t.Literal('failed')], { description: 'pending: reserved, transfer not confirmed yet' }),
  transfer_id: t.Union([t.String(), t.Null()]),
  destination: t.String({ description: 'The connected account (acct_…)' }),
  failure_reason: t.Union([t.String(), t.Null()]),
  created_at: t.String(),
})

export const ConnectModel = {
  onboard: t.Object(
    {
      refresh_url: Text({ minLength: 1, maxLength: 2048, description: 'Where Stripe sends the developer when the link expired or was used: make a new link there' }),
      return_url: Text({ minLength: 1, maxLength: 2048, description: 'Where Stripe sends the developer after onboarding' }),
    },
    { additionalProperties: false },
  ),
  onboardingLink: t.Object({
    object: t.Literal('connect_onboarding_link'),
    account_id: t.String({ description: 'acct_…' }),
    url: t.String({ description: "Stripe's hosted onboarding: send the developer here" }),
    expires_at: t.String(),
  }),
  status: t.Object({
    object: t.Literal('connect_status'),
    account_id: t.Union([t.String(), t.Null()], { description: 'null before the first onboarding link' }),
    onboarded: t.Boolean({ description: "Stripe's details_submitted" }),
    payouts_enabled: t.Boolean(),
    margin_balance_usd: t.String({ description: 'Margin accrued on live top-ups, less payouts made or in progress' }),
  }),
  payout,
  payoutList: t.Object({ object: t.Literal('list'), data: t.Array(payout) }),
  listQuery: t.Object({ limit: t.Optional(IntegerParam(PAYOUTS_LIMIT, 'an integer from 1 to 100; default 20')) }),
  writeHeaders: t.Object({
    'idempotency-key': t.Optional(Text({ minLength: 1, maxLength: 255, description: 'Retries with the same key get the first answer (kept 24 hours)' })),
  }),
}
