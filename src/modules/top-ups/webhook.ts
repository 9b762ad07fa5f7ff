// Stripe's top-up events: payment_intent.succeeded credits the net once per PaymentIntent, charge.refunded reverses once per refund.
import type Stripe from 'stripe'
import { findWalletById, walletLedgerAccount } from '../../db/queries/end-customers'
import { findProject, type Mode } from '../../db/queries/projects'
import { recordStripeEvent } from '../../db/queries/stripe-events'
import { ledgerBalance } from '../../db/queries/ledger'
import { creditTopUp, findTopUp, lockTopUp, writeReversal } from '../../db/queries/top-ups'
import { ServiceUnavailableError, UpstreamError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import type { Admission } from '../../limits/admission'
import { NANO_PER_CENT, splitTopUp } from '../../pricing/markup'
import { formatNanoAsUsd } from '../../pricing/money'
import type { PlatformStripeEvents, StripeEventEnvelope } from '../billing/events'
import type { EmitEvent } from '../webhooks/emitter'
import { TOP_UP_KIND } from './service'

export interface TopUpEventDeps {
  sql: Sql
  admission: Pick<Admission, 'credit' | 'reverse'>
  /** To read a PaymentIntent whose refund arrives before its success (Stripe does not deliver in order). */
  stripe: Record<Mode, Stripe | null>
  logger: Logger
  /** wallet.credited to the project's endpoints of the wallet's mode. */
  emit?: EmitEvent
}

export const TOP_UP_EVENTS = new Set(['payment_intent.succeeded', 'charge.refunded'])

type Json = Record<string, unknown>
const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const idOf = (value: unknown): string | null => (isRecord(value) ? idOf(value.id) : typeof value === 'string' && value !== '' ? value : null)
const cents = (value: unknown): bigint | null => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : null)

interface TopUpIntent {
  id: string
  walletId: string
  projectId: string
  mode: Mode
  markupBps: number
  amountNano: bigint
}

/** Our top-up's facts from a PaymentIntent, or why it is not one we credit. */
function topUpOf(intent: Json): TopUpIntent | string {
  const metadata = isRecord(intent.metadata) ? intent.metadata : {}
  if (metadata.meterway_kind !== TOP_UP_KIND) return 'not a wallet top-up'
  const id = idOf(intent.id)
  const received = cents(intent.amount_received)
  const markup = Number(metadata.markup_bps)
  const mode = metadata.mode
  if (!id || received === null || received === 0n) return 'no amount received'
  if (intent.currency !== 'usd') return `currency ${String(intent.currency)}`
  if (!Number.isInteger(markup) || markup < 0 || markup > 100_000) return 'bad markup_bps'
  if (mode !== 'live' && mode !== 'test') return 'bad mode'
  if (typeof metadata.wallet_id !== 'string' || typeof metadata.project_id !== 'string') return 'no wallet'
  return { id, walletId: metadata.wallet_id, projectId: metadata.project_id, mode, markupBps: markup, amountNano: received * NANO_PER_CENT }
}

/** Credits a succeeded top-up once (the top_ups row is the gate), then raises the Redis wallet (idempotent per ledger id, so replays repeat it safely). */
async function creditSucceeded(deps: TopUpEventDeps, intent: Json, mode: Mode, event: StripeEventEnvelope | null): Promise<{ duplicate: boolean } | null> {
  const topUp = topUpOf(intent)
  if (typeof topUp === 'string') {
    deps.logger.debug('payment intent not credited', { paymentIntent: intent.id, reason: topUp })
    return null
  }
  // A test-mode secret signed it: it may only credit test wallets, and the live secret only live ones.
  const wallet = await findWalletById(deps.sql, topUp.walletId)
  const project = wallet ? await findProject(deps.sql, wallet.project_id) : null
  if (topUp.mode !== mode || !wallet || !project || wallet.project_id !== topUp.projectId || wallet.mode !== mode) {
    deps.logger.warn('top-up event does not match a wallet of its mode; ignored', { paymentIntent: topUp.id, mode, metadataMode: topUp.mode, walletId: topUp.walletId })
    return null
  }
  const { netNano, marginNano } = splitTopUp(topUp.amountNano, topUp.markupBps)
  const outcome = await deps.sql.begin(async (tx) => {
    const fresh = event === null ? true : await recordStripeEvent(tx, event.id, event.type)
    const credited = await creditTopUp(tx, {
      paymentIntentId: topUp.id,
      walletId: wallet.id,
      ledgerAccountId: wallet.ledger_account_id,
      projectId: project.id,
      accountId: project.account_id,
      mode,
      amountNano: topUp.amountNano,
      netNano,
      // Sandbox money is never paid out: test wallets get the same net, and no margin accrues.
      marginNano: mode === 'live' ? marginNano : 0n,
      markupBps: topUp.markupBps,
    })
    return { ...credited, duplicate: !fresh || !credited.created }
  })
  try {
    await deps.admission.credit(wallet.ledger_account_id, netNano, outcome.ledgerId)
  } catch (error) {
    deps.logger.warn('top-up credited in Postgres, not yet in Redis; Stripe will retry the event', { paymentIntent: topUp.id, error: (error as Error).message })
    throw new ServiceUnavailableError('The wallet was credited but its live balance could not be raised yet. Retry the event.', 'wallet_unavailable')
  }
  if (outcome.created) deps.logger.info('wallet topped up', { paymentIntent: topUp.id, walletId: wallet.id, netNano: netNano.toString(), markupBps: topUp.markupBps })
  // Named by the ledger row, so every delivery of this PaymentIntent (and a retry after a crash right here) is one event.
  if (deps.emit) {
    const balance = await ledgerBalance(deps.sql, wallet.ledger_account_id)
    deps.emit({
      accountId: project.account_id,
      project: { id: project.id, mode },
      type: 'wallet.credited',
      id: `evt_ledger_${outcome.ledgerId}`,
      data: { wallet_id: wallet.id, end_customer_id: wallet.end_customer_id, mode, ledger_id: outcome.ledgerId, amount_usd: formatNanoAsUsd(netNano), balance_usd: formatNanoAsUsd(balance), reason: 'top_up', payment_intent_id: topUp.id },
    })
  }
  return { duplicate: outcome.duplicate }
}

/** The top-up of a refunded charge; one whose success we have not seen yet is read from Stripe and credited first. */
async function topUpOfCharge(deps: TopUpEventDeps, paymentIntentId: string, mode: Mode) {
  const known = await findTopUp(deps.sql, paymentIntentId)
  if (known) return known
  const stripe = deps.stripe[mode]
  if (!stripe) return null
  let intent: Stripe.PaymentIntent
  try {
    intent = await stripe.paymentIntents.retrieve(paymentIntentId)
  } catch (error) {
    deps.logger.warn('could not read the refunded payment intent from Stripe; Stripe will retry the event', { paymentIntentId, error: (error as Error).message })
    throw new UpstreamError('Stripe did not answer while a refund was applied. Retry the event.', 'stripe_error')
  }
  if (intent.status !== 'succeeded' || !(await creditSucceeded(deps, intent as unknown as Json, mode, null))) return null
  return findTopUp(deps.sql, paymentIntentId)
}

/**
 * Reverses what a refund adds to the charge's refunded total: amount_refunded only grows, so a replayed or older event
 * reverses nothing, and each new refund its own part. The wallet gives back what it still has (never below zero); the
 * margin is given back in full.
 */
async function reverseRefund(deps: TopUpEventDeps, charge: Json, mode: Mode, event: StripeEventEnvelope): Promise<{ duplicate: boolean } | null> {
  const paymentIntentId = idOf(charge.payment_intent)
  const refundedCents = cents(charge.amount_refunded)
  if (!paymentIntentId || refundedCents === null) return null
  const known = await topUpOfCharge(deps, paymentIntentId, mode)
  if (!known || known.mode !== mode) return null
  const project = await findProject(deps.sql, known.project_id)
  const ledgerAccountId = walletLedgerAccount(known.wallet_id)
  return deps.sql.begin(async (tx) => {
    const fresh = await recordStripeEvent(tx, event.id, event.type)
    const topUp = (await lockTopUp(tx, paymentIntentId))!
    const amountNano = BigInt(topUp.amount_nano)
    const before = BigInt(topUp.refunded_nano)
    const after = refundedCents * NANO_PER_CENT < amountNano ? refundedCents * NANO_PER_CENT : amountNano
    if (after <= before) return { duplicate: !fresh }
    const split = (refunded: bigint) => splitTopUp(refunded, topUp.markup_bps)
    const netNano = split(after).netNano - split(before).netNano
    const marginNano = BigInt(topUp.margin_nano) > 0n ? split(after).marginNano - split(before).marginNano : 0n
    const reference = `refund:${paymentIntentId}:${after}`
    // Redis first, under this top-up's lock: holds race the refund there, and the claim makes a retry take the same amount.
    const walletNano = await deps.admission.reverse(ledgerAccountId, netNano, reference)
    await writeReversal(tx, {
      paymentIntentId,
      ledgerAccountId,
      accountId: project!.account_id,
      projectId: topUp.project_id,
      markupBps: topUp.markup_bps,
      refundedNano: after,
      walletNano,
      marginNano,
      shortfallNano: netNano - walletNano,
      reference,
    })
    deps.logger.info('top-up refunded', { paymentIntentId, refundedNano: after.toString(), walletNano: walletNano.toString(), shortfallNano: (netNano - walletNano).toString() })
    return { duplicate: !fresh }
  })
}

/** What the shared Stripe webhook endpoint hands over for these event types, with the mode whose secret verified it. */
export function topUpEvents(deps: TopUpEventDeps): PlatformStripeEvents {
  return {
    handles: (type) => TOP_UP_EVENTS.has(type),
    async receive(event, mode) {
      const applied =
        event.type === 'payment_intent.succeeded' ? await creditSucceeded(deps, event.object, mode, event) : await reverseRefund(deps, event.object, mode, event)
      if (applied === null) await recordStripeEvent(deps.sql, event.id, event.type)
      return applied?.duplicate ? { received: true, duplicate: true } : { received: true }
    },
  }
}
