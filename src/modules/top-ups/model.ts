// TypeBox models of end-user top-ups: the browser's request (session token) and the PaymentIntent it gets back.
import { t } from 'elysia'
import { Text } from '../../lib/request-schemas'

export const TopUpModel = {
  create: t.Object(
    { amount_usd: t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description: 'USD to pay, in whole cents, from 0.50 to 10000.00, e.g. "10.00"' }) },
    { additionalProperties: false },
  ),
  headers: t.Object({
    'idempotency-key': t.Optional(Text({ minLength: 1, maxLength: 200, description: 'Retries with the same key get the same PaymentIntent from Stripe' })),
  }),
  topUp: t.Object({
    client_secret: t.String({ description: "Confirm it in the browser with Stripe's PaymentElement and the publishable key" }),
    payment_intent_id: t.String(),
    amount_usd: t.String({ description: 'What the end user pays' }),
    net_credited_usd: t.String({ description: "What the wallet is credited once Stripe confirms the payment: the amount net of the project's markup" }),
    publishable_key: t.Union([t.String(), t.Null()], { description: "Stripe's publishable key of the session's mode" }),
  }),
}
