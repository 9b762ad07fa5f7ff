// Stripe Connect for an account's margin: the Express account (created once), its status, and payouts that reserve, transfer once, then record or release.
import Stripe from 'stripe'
import { endPayout, findConnectAccount, findPayout, listPayouts, payableMargin, reservePayout, storeConnectAccount, unresolvedPayouts, type PayoutRow } from '../../db/queries/connect'
import { ConflictError, GatewayError, InvalidRequestError, ServiceUnavailableError, UpstreamError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { NANO_PER_CENT } from '../../pricing/markup'
import { formatNanoAsUsd } from '../../pricing/money'
import { newId } from '../auth/platform-keys'

export interface ConnectServiceDeps {
  sql: Sql
  /** The live Stripe client (STRIPE_SECRET_KEY): connected accounts and transfers are the platform's, in live mode. */
  stripe: Stripe | null
  logger: Logger
  /** A payout whose transfer answer was lost is sent again (same idempotency key) once it is this old. Default 60 s. */
  retryUnresolvedAfterMs?: number
}

/** The smallest payout: $1.00. */
export const MINIMUM_PAYOUT_NANO = 1_000_000_000n
/** Stripe keeps an idempotency key 24 hours; a lost transfer is retried only well within it, never after (it could be made twice). */
const IDEMPOTENCY_WINDOW_MS = 23 * 3_600_000
const DEFAULT_RETRY_AFTER_MS = 60_000

const usd = formatNanoAsUsd

function stripeOf(deps: ConnectServiceDeps): Stripe {
  if (!deps.stripe) throw new ServiceUnavailableError('Stripe Connect is not configured on this gateway (STRIPE_SECRET_KEY is empty).', 'connect_not_configured')
  return deps.stripe
}

/** Stripe failing or refusing a call that is not a transfer: one 502, the details logged. */
function stripeFailure(deps: ConnectServiceDeps, operation: string, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  const e = error as Partial<Stripe.errors.StripeError> | undefined
  deps.logger.error('stripe call failed', { operation, type: e?.type, code: e?.code, statusCode: e?.statusCode, stripeRequestId: e?.requestId, message: e?.message })
  return new UpstreamError(`Stripe did not complete ${operation}. Try again in a moment.`, 'stripe_error')
}

function checkedUrl(field: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidRequestError(`Invalid value for '${field}': not a URL.`, field, 'invalid_value')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidRequestError(`Invalid value for '${field}': an http(s) URL is required.`, field, 'invalid_value')
  return url.toString()
}

/** The account's connected account, created at Stripe the first time (the idempotency key makes a concurrent second call get the same one). */
async function connectedAccount(deps: ConnectServiceDeps, stripe: Stripe, accountId: string): Promise<string> {
  const known = await findConnectAccount(deps.sql, accountId)
  if (known) return known.stripe_account_id
  let created: Stripe.Account
  try {
    created = await stripe.accounts.create({ type: 'express', metadata: { meterway_account_id: accountId } }, { idempotencyKey: `meterway-connect-account:${accountId}` })
  } catch (error) {
    throw stripeFailure(deps, 'the connected account', error)
  }
  const stored = await storeConnectAccount(deps.sql, accountId, created.id)
  if (stored.stripe_account_id !== created.id) deps.logger.warn('a second connected account was created and is unused', { accountId, unused: created.id, kept: stored.stripe_account_id })
  return stored.stripe_account_id
}

export async function onboard(deps: ConnectServiceDeps, accountId: string, urls: { refresh_url: string; return_url: string }) {
  const refreshUrl = checkedUrl('refresh_url', urls.refresh_url)
  const returnUrl = checkedUrl('return_url', urls.return_url)
  const stripe = stripeOf(deps)
  const account = await connectedAccount(deps, stripe, accountId)
  let link: Stripe.AccountLink
  try {
    link = await stripe.accountLinks.create({ account, refresh_url: refreshUrl, return_url: returnUrl, type: 'account_onboarding' })
  } catch (error) {
    throw stripeFailure(deps, 'the onboarding link', error)
  }
  return { object: 'connect_onboarding_link' as const, account_id: account, url: link.url, expires_at: new Date(link.expires_at * 1000).toISOString() }
}

async function retrieveAccount(deps: ConnectServiceDeps, stripe: Stripe, id: string): Promise<Stripe.Account> {
  try {
    return await stripe.accounts.retrieve(id)
  } catch (error) {
    throw stripeFailure(deps, 'reading the connected account', error)
  }
}

export async function connectStatus(deps: ConnectServiceDeps, accountId: string) {
  const [known, payable] = await Promise.all([findConnectAccount(deps.sql, accountId), payableMargin(deps.sql, accountId)])
  const body = { object: 'connect_status' as const, account_id: null as string | null, onboarded: false, payouts_enabled: false, margin_balance_usd: usd(payable) }
  if (!known) return body
  const account = await retrieveAccount(deps, stripeOf(deps), known.stripe_account_id)
  return { ...body, account_id: account.id, onboarded: account.details_submitted === true, payouts_enabled: account.payouts_enabled === true }
}

export function payoutBody(row: PayoutRow) {
  return {
    id: row.payout_id,
    object: 'payout' as const,
    amount_usd: usd(BigInt(row.amount_nano)),
    status: row.status,
    transfer_id: row.transfer_id,
    destination: row.stripe_account_id,
    failure_reason: row.status === 'failed' ? row.reason : null,
    created_at: row.created_at.toISOString(),
  }
}

/**
 * Stripe refused the transfer: it answered, with a 4xx that is not a conflict, a rate limit or an idempotency
 * mismatch, so no transfer exists under this key. Anything else (no answer, 5xx, 409, 429) may have transferred.
 */
function refusedForSure(error: unknown): error is Stripe.errors.StripeError {
  if (!(error instanceof Stripe.errors.StripeError)) return false
  const status = error.statusCode ?? 0
  return status >= 400 && status < 500 && status !== 409 && status !== 429 && error.type !== 'StripeIdempotencyError'
}

type TransferOutcome = { kind: 'paid' } | { kind: 'released'; reason: string } | { kind: 'unknown' }

/** Sends the reserved payout's transfer (its id is the idempotency key) and records the one outcome. */
async function sendTransfer(deps: ConnectServiceDeps, stripe: Stripe, payout: { id: string; accountId: string; amountNano: bigint; destination: string }): Promise<TransferOutcome> {
  try {
    const transfer = await stripe.transfers.create(
      {
        amount: Number(payout.amountNano / NANO_PER_CENT),
        currency: 'usd',
        destination: payout.destination,
        description: 'Meterway margin payout',
        metadata: { meterway_payout_id: payout.id, meterway_account_id: payout.accountId },
      },
      { idempotencyKey: payout.id },
    )
    await endPayout(deps.sql, { payoutId: payout.id, kind: 'paid', transferId: transfer.id, reason: 'transferred' })
    deps.logger.info('margin paid out', { payoutId: payout.id, accountId: payout.accountId, amountNano: payout.amountNano.toString(), transferId: transfer.id })
    return { kind: 'paid' }
  } catch (error) {
    const e = error as Partial<Stripe.errors.StripeError>
    if (refusedForSure(error)) {
      const reason = `Stripe refused the transfer (${e.code ?? e.type}): ${e.message}`
      await endPayout(deps.sql, { payoutId: payout.id, kind: 'release', transferId: null, reason })
      deps.logger.warn('payout refused by Stripe; its margin is released', { payoutId: payout.id, code: e.code, message: e.message })
      return { kind: 'released', reason }
    }
    deps.logger.error('payout transfer unconfirmed; its margin stays reserved until a retry settles it', { payoutId: payout.id, type: e?.type, statusCode: e?.statusCode, message: e?.message })
    return { kind: 'unknown' }
  }
}

/** Payouts whose transfer answer was lost earlier: sent again with their own key, so Stripe answers the first transfer or refuses; never a second one. */
async function settleUnresolved(deps: ConnectServiceDeps, stripe: Stripe, accountId: string): Promise<string[]> {
  const rows = await unresolvedPayouts(deps.sql, accountId, deps.retryUnresolvedAfterMs ?? DEFAULT_RETRY_AFTER_MS, IDEMPOTENCY_WINDOW_MS)
  const paid: string[] = []
  for (const row of rows) {
    const outcome = await sendTransfer(deps, stripe, { id: row.payout_id, accountId, amountNano: BigInt(row.amount_nano), destination: row.stripe_account_id })
    if (outcome.kind === 'paid') paid.push(row.payout_id)
  }
  return paid
}

export async function createPayout(deps: ConnectServiceDeps, accountId: string) {
  const known = await findConnectAccount(deps.sql, accountId)
  if (!known) throw new ConflictError('No connected account yet: POST /v1/connect/onboard and finish Stripe onboarding first.', 'connect_not_onboarded')
  const stripe = stripeOf(deps)
  const account = await retrieveAccount(deps, stripe, known.stripe_account_id)
  if (account.payouts_enabled !== true) throw new ConflictError('The connected account cannot receive payouts yet: finish Stripe onboarding (POST /v1/connect/onboard for a new link).', 'connect_not_onboarded')
  const settledNow = await settleUnresolved(deps, stripe, accountId)
  const payoutId = newId('po')
  const reservation = await reservePayout(deps.sql, { payoutId, accountId, stripeAccountId: known.stripe_account_id, minimumNano: MINIMUM_PAYOUT_NANO, unitNano: NANO_PER_CENT })
  if (reservation.kind === 'too_little') {
    // A payout that was waiting on Stripe went through just now: that is this call's payout.
    const settled = settledNow.at(-1)
    if (settled) return payoutBody((await findPayout(deps.sql, settled))!)
    if (reservation.pending > 0) {
      throw new ConflictError('Another payout of this account is in progress: its margin is reserved. GET /v1/connect/payouts shows it.', 'payout_in_progress')
    }
    throw new InvalidRequestError(`The margin available to pay out is $${usd(reservation.payableNano)}; a payout is at least $${usd(MINIMUM_PAYOUT_NANO)} (in whole cents).`, null, 'payout_below_minimum')
  }
  const outcome = await sendTransfer(deps, stripe, { id: payoutId, accountId, amountNano: reservation.amountNano, destination: known.stripe_account_id })
  if (outcome.kind === 'released') throw new UpstreamError(`${outcome.reason} The margin is available again; payout ${payoutId} did not happen.`, 'transfer_failed')
  if (outcome.kind === 'unknown') {
    throw new UpstreamError(
      `Stripe did not confirm the transfer of payout ${payoutId}. Its margin stays reserved; a later POST /v1/connect/payouts completes it with the same idempotency key, so it is never transferred twice.`,
      'payout_pending',
    )
  }
  return payoutBody((await findPayout(deps.sql, payoutId))!)
}

export async function accountPayouts(deps: ConnectServiceDeps, accountId: string, limit: number) {
  return { object: 'list' as const, data: (await listPayouts(deps.sql, accountId, limit)).map(payoutBody) }
}
