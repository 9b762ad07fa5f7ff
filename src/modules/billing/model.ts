// TypeBox models of the billing routes (request bodies and the answers documented in Swagger).
import { t } from 'elysia'

export namespace BillingModel {
  export const checkoutBody = t.Object({
    plan: t.Literal('pro', { description: "The plan to subscribe to; 'pro' is the only one." }),
  })
  export type CheckoutBody = typeof checkoutBody.static

  export const checkoutResponse = t.Object({
    checkout_url: t.String({ description: 'Open in a browser to pay; access starts once Stripe confirms the payment.' }),
    session_id: t.String(),
  })
  export type CheckoutResponse = typeof checkoutResponse.static

  export const subscriptionResponse = t.Object({
    plan: t.Literal('pro'),
    status: t.String({ description: "Stripe's subscription status, or 'none'." }),
    active: t.Boolean({ description: 'Whether the subscription currently grants access (active or trialing).' }),
  })
  export type SubscriptionResponse = typeof subscriptionResponse.static

  export const webhookResponse = t.Object({
    received: t.Literal(true),
    duplicate: t.Optional(t.Literal(true)),
  })
  export type WebhookResponse = typeof webhookResponse.static
}
