// Billing use cases: start a Pro checkout for an agent, report its subscription, apply Stripe's webhook events once.
import type Stripe from 'stripe'
import type { TransactionSql } from 'postgres'
import { GatewayError, InvalidRequestError, NotFoundError, ServiceUnavailableError, UpstreamError } from '../../errors'
import {
  findAccount,
  findAccountByStripeCustomer,
  setStripeCustomer,
  setSubscriptionStatus,
  type AccountRow,
} from '../../db/queries/accounts'
import { lockAccountForStripeEvents, recordStripeEvent } from '../../db/queries/stripe-events'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { STATIC_ACCOUNT_ID } from '../auth/service'
import { SubscriptionExistsError } from './errors'
import { effectOf, nextStatus, parseStripeEvent, type PlatformStripeEvents, type SubscriptionChange } from './events'
import type { BillingModel } from './model'
import { STRIPE_SIGNATURE_TOLERANCE_SECONDS, verifyStripeSignature } from './signature'

export interface BillingConfig {
  proPriceId: string
  webhookSecret: string
  /** STRIPE_TEST_WEBHOOK_SECRET: events it verifies are test mode's (end-user top-ups only). */
  testWebhookSecret?: string
  publicBaseUrl: string
}

export interface BillingServiceDeps {
  sql: Sql
  stripe: Stripe | null
  config: BillingConfig
  onAccountChanged(accountId: string): void | Promise<void>
  logger: Logger
  /** Top-up events (payment_intent.succeeded, charge.refunded) go here; without it they are recorded without effect. */
  platformEvents?: PlatformStripeEvents
}

/** Statuses under which a subscription still exists in Stripe, so a new checkout would start a second one. */
const SUBSCRIBED = new Set(['active', 'trialing', 'past_due', 'unpaid', 'paused'])
const GRANTS_ACCESS = new Set(['active', 'trialing'])

const notConfigured = () =>
  new ServiceUnavailableError('Billing is not configured on this gateway (no Stripe key or price).', 'billing_not_configured')

/** Static keys (GATEWAY_API_KEYS) have no account row, so no customer and no subscription. */
function requireAccountId(accountId: string): string {
  if (accountId === STATIC_ACCOUNT_ID) throw new InvalidRequestError('static keys have no subscription', null, 'static_key')
  return accountId
}

async function loadAccount(sql: Sql, accountId: string): Promise<AccountRow> {
  const account = await findAccount(sql, accountId)
  if (!account) throw new NotFoundError(`No account '${accountId}'.`, 'account_not_found')
  return account
}

/** Stripe's failures become one 502; the details (never the key: Stripe masks it) go to the log. */
function stripeFailure(logger: Logger, operation: string, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  const e = error as Partial<Stripe.errors.StripeError> | undefined
  logger.error('stripe call failed', {
    operation,
    type: e?.type,
    code: e?.code,
    statusCode: e?.statusCode,
    stripeRequestId: e?.requestId,
    message: e?.message,
  })
  return new UpstreamError('Stripe did not complete the request. Try again in a moment.', 'stripe_error')
}

/**
 * The account's Stripe customer, created on first use. The Idempotency-Key makes concurrent first calls get the
 * same customer from Stripe; should they still differ, the first one recorded wins and ours is deleted.
 */
async function ensureCustomer(deps: BillingServiceDeps, stripe: Stripe, account: AccountRow): Promise<string> {
  if (account.stripe_customer_id) return account.stripe_customer_id
  const created = await stripe.customers.create(
    { name: account.name, metadata: { agent_id: account.id } },
    { idempotencyKey: `meterway-customer-${account.id}` },
  )
  const stored = await setStripeCustomer(deps.sql, account.id, created.id)
  if (stored === null) throw new NotFoundError(`No account '${account.id}'.`, 'account_not_found')
  if (stored !== created.id) {
    deps.logger.warn('stripe customer lost a creation race; deleting it', { accountId: account.id, customerId: created.id })
    stripe.customers.del(created.id).catch((error: unknown) => stripeFailure(deps.logger, 'customers.del', error))
  }
  return stored
}

export async function startCheckout(deps: BillingServiceDeps, principalAccountId: string): Promise<BillingModel.CheckoutResponse> {
  const accountId = requireAccountId(principalAccountId)
  const { stripe, config } = deps
  if (!stripe || !config.proPriceId) throw notConfigured()
  const account = await loadAccount(deps.sql, accountId)
  if (SUBSCRIBED.has(account.subscription_status)) throw new SubscriptionExistsError(account.subscription_status)
  try {
    const customer = await ensureCustomer(deps, stripe, account)
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: config.proPriceId, quantity: 1 }],
      customer,
      client_reference_id: account.id,
      success_url: `${config.publicBaseUrl}/subscriptions/checkout/success?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${config.publicBaseUrl}/subscriptions/checkout/cancel`,
      metadata: { agent_id: account.id },
      subscription_data: { metadata: { agent_id: account.id } },
    })
    if (!session.url) throw new UpstreamError('Stripe returned a checkout session without a URL.', 'stripe_error')
    deps.logger.info('checkout session created', { accountId: account.id, sessionId: session.id })
    return { checkout_url: session.url, session_id: session.id }
  } catch (error) {
    throw stripeFailure(deps.logger, 'checkout', error)
  }
}

export async function subscriptionOf(deps: BillingServiceDeps, principalAccountId: string): Promise<BillingModel.SubscriptionResponse> {
  const account = await loadAccount(deps.sql, requireAccountId(principalAccountId))
  const status = account.subscription_status
  return { plan: 'pro', status, active: GRANTS_ACCESS.has(status) }
}

/** Applies one subscription change inside the event's transaction; the account id when something changed. */
async function applySubscriptionChange(tx: TransactionSql, change: SubscriptionChange, logger: Logger, eventId: string): Promise<string | null> {
  // The accounts queries take Sql; a transaction runs the same tagged templates on its one connection.
  const sql = tx as unknown as Sql
  const target =
    (change.agentId !== null ? await findAccount(sql, change.agentId) : null) ??
    (change.customerId !== null ? await findAccountByStripeCustomer(sql, change.customerId) : null)
  if (!target) {
    logger.warn('stripe event for an unknown account', { eventId, agentId: change.agentId, customerId: change.customerId })
    return null
  }
  await lockAccountForStripeEvents(tx, target.id)
  const account = (await findAccount(sql, target.id)) ?? target
  const status = nextStatus({ status: account.subscription_status, subscriptionId: account.stripe_subscription_id }, change)
  if (status === null) {
    logger.info('stripe event is older than the account state; ignored', { eventId, accountId: account.id, status: account.subscription_status })
    return null
  }
  await setSubscriptionStatus(sql, account.id, status, change.subscriptionId)
  // stripe_customer_id is unique: never take a customer another account already holds.
  if (!account.stripe_customer_id && change.customerId !== null && !(await findAccountByStripeCustomer(sql, change.customerId))) {
    await setStripeCustomer(sql, account.id, change.customerId)
  }
  logger.info('subscription updated from stripe', { eventId, accountId: account.id, status })
  return account.id
}

/** Verifies, then applies the event at most once: the event id is recorded in the transaction of its effect. */
export async function receiveStripeWebhook(
  deps: BillingServiceDeps,
  rawBody: string,
  signatureHeader: string | undefined,
  nowSeconds: number,
): Promise<BillingModel.WebhookResponse> {
  // One endpoint serves both Stripe modes: the secret that verifies the body tells which mode sent it.
  const secrets = [
    { mode: 'live' as const, secret: deps.config.webhookSecret },
    { mode: 'test' as const, secret: deps.config.testWebhookSecret ?? '' },
  ].filter((s) => s.secret !== '')
  if (secrets.length === 0) throw notConfigured()
  let check = verifyStripeSignature(rawBody, signatureHeader, secrets[0]!.secret, STRIPE_SIGNATURE_TOLERANCE_SECONDS, nowSeconds)
  let mode = secrets[0]!.mode
  if (!check.ok && secrets[1] && check.reason === 'no_matching_signature') {
    check = verifyStripeSignature(rawBody, signatureHeader, secrets[1].secret, STRIPE_SIGNATURE_TOLERANCE_SECONDS, nowSeconds)
    mode = secrets[1].mode
  }
  if (!check.ok) {
    deps.logger.warn('stripe webhook refused', { reason: check.reason })
    throw new InvalidRequestError(`The Stripe-Signature header did not verify (${check.reason}).`, null, 'invalid_signature')
  }
  let json: unknown
  try {
    json = JSON.parse(rawBody)
  } catch {
    json = null
  }
  const event = parseStripeEvent(json)
  if (!event) throw new InvalidRequestError('The webhook body is not a Stripe event.', null, 'invalid_payload')

  if (deps.platformEvents?.handles(event.type)) return deps.platformEvents.receive(event, mode)
  // Subscriptions are live mode's: an event the test secret signed changes no account.
  const effect = mode === 'live' ? effectOf(event) : ({ kind: 'none', reason: 'test-mode event' } as const)
  const outcome = await deps.sql.begin(async (tx) => {
    if (!(await recordStripeEvent(tx, event.id, event.type))) return { duplicate: true, accountId: null }
    if (effect.kind === 'none') {
      deps.logger.debug('stripe event recorded without effect', { eventId: event.id, type: event.type, reason: effect.reason })
      return { duplicate: false, accountId: null }
    }
    return { duplicate: false, accountId: await applySubscriptionChange(tx, effect.change, deps.logger, event.id) }
  })

  if (outcome.duplicate) {
    deps.logger.info('stripe event replayed; already applied', { eventId: event.id, type: event.type })
    return { received: true, duplicate: true }
  }
  if (outcome.accountId !== null) {
    // After commit, so a cache refill cannot read the old row back.
    try {
      await deps.onAccountChanged(outcome.accountId)
    } catch (error) {
      deps.logger.error('onAccountChanged failed', { accountId: outcome.accountId, error: String(error) })
    }
  }
  return { received: true }
}
