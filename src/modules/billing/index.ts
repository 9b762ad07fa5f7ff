// The billing plugin: Pro checkout and subscription status for agents, Stripe's webhook, and Checkout's landing pages.
import { Elysia } from 'elysia'
import type Stripe from 'stripe'
import type { Sql } from '../../lib/db'
import { textBody } from '../../lib/json-body'
import type { Logger } from '../../lib/logger'
import { authenticatedJson, authPlugin } from '../auth'
import type { PlatformStripeEvents } from './events'
import { BillingModel } from './model'
import { receiveStripeWebhook, startCheckout, subscriptionOf, type BillingConfig, type BillingServiceDeps } from './service'

export { SubscriptionExistsError } from './errors'

export interface BillingDeps {
  sql: Sql
  /** null when STRIPE_SECRET_KEY is empty: checkout then answers 503 billing_not_configured. */
  stripe: Stripe | null
  config: BillingConfig
  authenticate: Parameters<typeof authPlugin>[0]
  /** Called after a Stripe event changed the account (committed), so cached principals drop it. */
  onAccountChanged(accountId: string): void | Promise<void>
  logger: Logger
  /** Applies the top-up event types Stripe sends to the same endpoint (payment_intent.succeeded, charge.refunded). */
  platformEvents?: PlatformStripeEvents
  /** Largest Stripe webhook body read (MAX_BODY_BYTES); Stripe's events are far smaller. */
  maxBodyBytes: number
}

const nowSeconds = () => Math.floor(Date.now() / 1000)
/** `{"plan":"pro"}` needs a few bytes; anything near this is not a checkout request. */
const CHECKOUT_MAX_BODY_BYTES = 4096
const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }]

export function billingPlugin(deps: BillingDeps) {
  const service: BillingServiceDeps = {
    sql: deps.sql,
    stripe: deps.stripe,
    config: deps.config,
    onAccountChanged: deps.onAccountChanged,
    logger: deps.logger,
    ...(deps.platformEvents ? { platformEvents: deps.platformEvents } : {}),
  }

  // Authenticated routes live in their own instance: the auth derive must not reach the webhook, which Stripe signs instead.
  const accountRoutes = new Elysia({ name: 'billing-account' })
    .use(authPlugin(deps.authenticate))
    .post('/subscriptions/checkout', ({ principal }) => startCheckout(service, principal.accountId), {
      // Authenticates before reading the body, as the chat routes do.
      parse: authenticatedJson(deps.authenticate, CHECKOUT_MAX_BODY_BYTES),
      body: BillingModel.checkoutBody,
      response: BillingModel.checkoutResponse,
      detail: { tags: ['billing'], summary: 'Start a Stripe Checkout for the Pro subscription; open checkout_url to pay', security },
    })
    .get('/subscriptions', ({ principal }) => subscriptionOf(service, principal.accountId), {
      response: BillingModel.subscriptionResponse,
      detail: { tags: ['billing'], summary: "The caller's subscription status", security },
    })

  const stripeRoutes = new Elysia({ name: 'billing-stripe' })
    .post(
      '/stripe/webhook',
      // The signature covers the exact bytes Stripe sent: read them as text, never through a JSON round trip.
      ({ body, headers }) => receiveStripeWebhook(service, typeof body === 'string' ? body : '', headers['stripe-signature'], nowSeconds()),
      {
        // Read under the byte limit even when sent chunked (Elysia's 'text' parser reads any length).
        parse: textBody(deps.maxBodyBytes),
        response: BillingModel.webhookResponse,
        detail: { tags: ['billing'], summary: 'Stripe webhook endpoint, live and test mode (signed with Stripe-Signature): subscriptions, end-user top-ups and their refunds' },
      },
    )
    .get('/subscriptions/checkout/success', () => ({
      status: 'complete',
      message: 'Payment received. Your Pro subscription is active as soon as Stripe confirms it; GET /subscriptions shows its status.',
    }), { detail: { tags: ['billing'], summary: 'Where Stripe Checkout returns after payment' } })
    .get('/subscriptions/checkout/cancel', () => ({
      status: 'canceled',
      message: 'Checkout was canceled; nothing was charged. POST /subscriptions/checkout starts a new one.',
    }), { detail: { tags: ['billing'], summary: 'Where Stripe Checkout returns when the payer cancels' } })

  return new Elysia({ name: 'billing' }).use(stripeRoutes).use(accountRoutes)
}
