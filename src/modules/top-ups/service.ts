// End-user top-ups: a Stripe PaymentIntent in the session's mode, its amount in cents and the markup in force in its metadata.
import type Stripe from 'stripe'
import { findProject, type Mode } from '../../db/queries/projects'
import { ConflictError, GatewayError, InvalidRequestError, PermissionError, ServiceUnavailableError, UpstreamError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { NANO_PER_CENT, splitTopUp } from '../../pricing/markup'
import { formatNanoAsUsd, parseUsdToNano } from '../../pricing/money'
import type { SessionPrincipal } from '../auth/platform-credentials'

export interface TopUpServiceDeps {
  sql: Sql
  /** Stripe clients by mode: live with STRIPE_SECRET_KEY, test with STRIPE_TEST_SECRET_KEY (null: not configured). */
  stripe: Record<Mode, Stripe | null>
  publishableKeys: Record<Mode, string | null>
  logger: Logger
}

/** Marks our PaymentIntents in their metadata; the webhook ignores every other one. */
export const TOP_UP_KIND = 'wallet_top_up'
/** Stripe's own minimum for USD is $0.50; the maximum keeps one mistyped amount from charging a card thousands. */
export const TOP_UP_LIMITS_CENTS = { minimum: 50n, maximum: 1_000_000n } as const

/** "10.00" → 1000 cents; fractions of a cent and amounts outside the limits are a 400 naming amount_usd. */
export function topUpCents(usd: string): bigint {
  const nano = parseUsdToNano(usd)
  if (nano % NANO_PER_CENT !== 0n) {
    throw new InvalidRequestError(`Invalid value for 'amount_usd': top-ups are in whole cents (got "${usd}").`, 'amount_usd', 'invalid_value')
  }
  const cents = nano / NANO_PER_CENT
  if (cents < TOP_UP_LIMITS_CENTS.minimum || cents > TOP_UP_LIMITS_CENTS.maximum) {
    throw new InvalidRequestError(`Invalid value for 'amount_usd': a top-up is from $0.50 to $10000.00 (got "${usd}").`, 'amount_usd', 'amount_out_of_range')
  }
  return cents
}

/** Stripe's failures: a reused Idempotency-Key with other parameters is the caller's 409; anything else one 502, details logged. */
function stripeFailure(logger: Logger, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  const e = error as Partial<Stripe.errors.StripeError> | undefined
  if (e?.type === 'StripeIdempotencyError') {
    return new ConflictError('This Idempotency-Key was already used for a different top-up (another amount or markup). Use a new key for a new top-up.', 'idempotency_key_reused')
  }
  logger.error('stripe call failed', { operation: 'paymentIntents.create', type: e?.type, code: e?.code, statusCode: e?.statusCode, stripeRequestId: e?.requestId, message: e?.message })
  return new UpstreamError('Stripe did not create the payment. Try again in a moment.', 'stripe_error')
}

export async function createTopUp(deps: TopUpServiceDeps, session: SessionPrincipal, usd: string, idempotencyKey: string | undefined) {
  const cents = topUpCents(usd)
  const stripe = deps.stripe[session.mode]
  if (!stripe) {
    const variable = session.mode === 'test' ? 'STRIPE_TEST_SECRET_KEY' : 'STRIPE_SECRET_KEY'
    throw new ServiceUnavailableError(`Top-ups in ${session.mode} mode are not configured on this gateway (${variable} is empty).`, 'top_ups_not_configured')
  }
  if (session.walletStatus === 'frozen') throw new PermissionError('This wallet is frozen: it takes no top-ups until the developer unfreezes it.', 'wallet_frozen')
  const project = await findProject(deps.sql, session.projectId)
  if (!project) throw new PermissionError('The project of this session no longer exists.', 'project_not_found')
  const amountNano = cents * NANO_PER_CENT
  // As of now: the webhook credits from this metadata, so a later markup change leaves this PaymentIntent alone.
  const { netNano } = splitTopUp(amountNano, project.markup_bps)
  let intent: Stripe.PaymentIntent
  try {
    intent = await stripe.paymentIntents.create(
      {
        amount: Number(cents),
        currency: 'usd',
        automatic_payment_methods: { enabled: true },
        description: 'Wallet top-up',
        metadata: {
          meterway_kind: TOP_UP_KIND,
          wallet_id: session.walletId,
          project_id: session.projectId,
          end_customer_id: session.endCustomerId,
          mode: session.mode,
          markup_bps: String(project.markup_bps),
          net_nano: netNano.toString(),
        },
      },
      // The wallet names the key, so one wallet's retry never replays another's PaymentIntent.
      idempotencyKey === undefined ? {} : { idempotencyKey: `meterway-top-up:${session.walletId}:${idempotencyKey}` },
    )
  } catch (error) {
    throw stripeFailure(deps.logger, error)
  }
  if (!intent.client_secret) throw new UpstreamError('Stripe returned a PaymentIntent without a client secret.', 'stripe_error')
  return {
    client_secret: intent.client_secret,
    payment_intent_id: intent.id,
    amount_usd: formatNanoAsUsd(amountNano),
    net_credited_usd: formatNanoAsUsd(netNano),
    publishable_key: deps.publishableKeys[session.mode],
  }
}
