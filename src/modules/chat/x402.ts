// The built-in chat route paid over x402 (gateway.x402_chat): the worst case quoted with upto (and exact), the payment checked, verified and claimed, then the usual exchange; upto settles the actual cost after the answer.
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { errorResponse, FacilitatorError, X402PaymentError } from '../../errors'
import { estimateChat } from '../../exchange/estimate'
import { x402Payment } from '../../exchange/payments/x402'
import type { HotRedis } from '../../lib/hot-redis'
import type { Logger } from '../../lib/logger'
import { measurePrompt } from '../../metering/prompt'
import type { ChatRequest } from '../../openai/chat-request'
import { PAYMENT_REQUIRED, encodeRequired, readPayment, responseHeader } from '../../x402/codec'
import type { Facilitator } from '../../x402/facilitator'
import { checkExactPayment } from '../../x402/local-verify'
import { claimNonce, nonceKey } from '../../x402/nonce-claim'
import type { X402PaymentRecord, X402PaymentRecorder } from '../../x402/payment-record'
import { paymentRequired, type PaymentTerms } from '../../x402/requirements'
import type { UptoSigner } from '../../x402/supported'
import { checkUptoPayment, meteredRequirements, nanoToAtomicUp } from '../../x402/upto'
import { UPTO_RETRY_FIRST_MS, type UptoMaterial, type UptoPending } from '../../x402/upto-pending'
import { recordFailure, settleUpto } from '../../x402/upto-settle'
import type { Principal } from '../auth/service'
import type { ProviderRegistry } from '../../providers/registry'
import { completeChat, resolveModel, type ChatCall, type ChatDeps } from './service'

export interface X402ChatOptions {
  terms: PaymentTerms
  facilitator: Facilitator
  uptoSigner: UptoSigner
  /** Where payment nonces are claimed (once per permit or authorization). */
  redis: Pick<HotRedis, 'send'>
  keyPrefix: string
  recordPayment: X402PaymentRecorder
  logger: Logger
  /** upto payments awaiting settlement (written before the first byte, checkpointed, settled by a worker after a crash). */
  pending: UptoPending
  /** How long a taker has to settle before a sweeper may take the payment again. */
  settleLeaseMs: number
  /** A `type: metered` route of the config file: every model is answered by its upstream (OpenAI's format) instead of the catalog's providers. */
  providers?: ProviderRegistry
}

/** The route as payment records name it. */
const ROUTE = 'POST /v1/chat/completions'
const NANO_PER_ATOMIC = 1_000n

/** A principal for a request paid by x402: no key, no subscription, no limits; its account is the payer. */
function payerPrincipal(payer: string): Principal {
  return {
    accountId: `x402_${payer.toLowerCase()}`,
    keyId: 'x402',
    mode: 'live',
    kind: 'static',
    subscriptionStatus: 'none',
    spendCapNano: null,
    limits: { rpm: null, tpm: null },
    billingMode: 'postpaid',
  }
}

function refusal(offered: PaymentRequirements[], resourceUrl: string, error: X402PaymentError, headers: Record<string, string>): Response {
  const required = paymentRequired({ url: resourceUrl, description: 'Chat completion paid by the tokens it uses', mimeType: 'application/json' }, offered, error.message)
  const response = errorResponse(error, { ...headers, [PAYMENT_REQUIRED]: encodeRequired(required) })
  // The JSON body carries the requirements beside our error shape.
  return new Response(JSON.stringify({ ...required, ...error.toBody() }), { status: 402, headers: response.headers })
}

/**
 * Serves one chat request paid over x402. The quote is the exchange's own worst case (prompt estimate plus output
 * cap at the catalog prices), rounded up to atomic units: an `upto` permit of at least that much settles, after the
 * answer, the cost the meter measured from the provider's usage (rounded up, never above the permit, nothing when
 * it is zero); an `exact` payment of the worst case is settled before anything is sent, and nothing more is charged.
 */
export async function x402Chat(chatDeps: ChatDeps, o: X402ChatOptions, base: Omit<ChatCall, 'principal'>, rawRequest: Request, headers: Record<string, string>): Promise<Response> {
  const deps = o.providers ? { ...chatDeps, providers: o.providers } : chatDeps
  const { request } = base
  const model = resolveModel(deps.catalog, request.model)
  const adapter = deps.providers[model.provider]
  const estimate = estimateChat({ request, model, measure: await measurePrompt(request as ChatRequest), profile: adapter.prompt, progressiveSliceTokens: null })
  // A free model is still quoted one unit: an x402 amount of zero is not a payment (upto then settles nothing).
  const worstAtomic = nanoToAtomicUp(estimate.holdNano) || 1n
  const network = o.terms.options[0]?.asset.caip2
  const signer = network ? await o.uptoSigner(network) : null
  const offered = meteredRequirements(o.terms, worstAtomic, signer)
  const resourceUrl = new URL(rawRequest.url).toString()
  if (offered.length === 0) throw new FacilitatorError('No accepted network is configured for x402 payments.', 'facilitator_unavailable')
  try {
    return await paid(deps, o, base, rawRequest, headers, offered)
  } catch (error) {
    // Refusals after the local checks (a replay, the facilitator's no) carry the requirements too.
    if (error instanceof X402PaymentError) return refusal(offered, resourceUrl, error, headers)
    throw error
  }
}

async function paid(deps: ChatDeps, o: X402ChatOptions, base: Omit<ChatCall, 'principal'>, rawRequest: Request, headers: Record<string, string>, offered: PaymentRequirements[]): Promise<Response> {
  const worstAtomic = BigInt(offered[0]!.amount)
  const resourceUrl = new URL(rawRequest.url).toString()
  const read = readPayment(rawRequest.headers)
  if (read === null) return refusal(offered, resourceUrl, new X402PaymentError(`Payment required: this request costs at most ${worstAtomic} USDC atomic units; pay with upto (the actual cost is settled) or exact (the worst case).`, 'payment_required'), headers)
  if ('problem' in read) return refusal(offered, resourceUrl, new X402PaymentError(read.problem, 'invalid_payload'), headers)
  const payment = read.payment
  if (payment.version !== 2) return refusal(offered, resourceUrl, new X402PaymentError('The chat route takes x402 v2 payments only (PAYMENT-SIGNATURE).', 'invalid_x402_version'), headers)
  const scheme = payment.payload.accepted.scheme
  const startedAt = new Date()
  const record = (r: Omit<X402PaymentRecord, 'requestId' | 'route' | 'startedAt'>) => o.recordPayment({ requestId: base.requestId, route: ROUTE, startedAt, ...r })

  if (scheme === 'upto') {
    const checked = await checkUptoPayment(payment, offered)
    if ('refusal' in checked) return refusal(offered, resourceUrl, new X402PaymentError(checked.refusal.message, checked.refusal.reason), headers)
    const { payer, maxAtomic, requirements, deadline } = checked.payment
    const payload = payment.payload as PaymentPayload
    const material: UptoMaterial = { requestId: base.requestId, route: ROUTE, payer, maxAtomic: maxAtomic.toString(), deadline: Number(deadline), startedAt: startedAt.toISOString(), payload, requirements }
    // The nonce claim and the settlement material, in one round trip: from here a gateway that dies is settled by a worker.
    await claimUpto(o, material, checked.payment.nonce)
    await verify(o, payload, requirements).catch(async (error: unknown) => {
      await o.pending.end(base.requestId).catch(() => {})
      throw error
    })
    const settleDeps = { facilitator: o.facilitator, record: o.recordPayment, logger: o.logger }
    const settle = async (costNano: number) => {
      const taken = await o.pending.take(base.requestId, { finish: BigInt(costNano) }, o.settleLeaseMs).catch((error: Error) => ({ kind: 'unreachable' as const, message: error.message }))
      if (taken.kind === 'unreachable') {
        // Without the take there is no guard against a second settle: the sweeper settles the last checkpoint instead.
        return o.logger.error('x402 upto payment not taken at the finish (Redis unreachable); the upto sweeper settles its last checkpoint', { requestId: base.requestId, payer, message: taken.message })
      }
      // A sweeper took it (this gateway's lease ran out first): it settles, once.
      if (taken.kind !== 'taken') return o.logger.warn('x402 upto payment already taken by the upto sweeper', { requestId: base.requestId, payer })
      const outcome = await settleUpto(settleDeps, material, BigInt(costNano), 'after the answer')
      if (outcome.kind === 'unreachable') {
        // Given back to the upto sweeper with the final cost: it retries until the permit's deadline.
        const handedOver = await o.pending.retryAt(base.requestId, Date.now() + UPTO_RETRY_FIRST_MS).then(() => true, () => false)
        if (handedOver) return o.logger.warn('x402 upto settlement did not reach the facilitator after the answer; the upto sweeper retries', { requestId: base.requestId, payer, message: outcome.message })
        recordFailure(settleDeps, material, outcome.amount, 'after the answer', outcome.message)
      }
      await o.pending.end(base.requestId).catch((error: Error) => o.logger.warn('x402 upto payment settled but not removed from Redis; the sweeper drops it', { requestId: base.requestId, message: error.message }))
    }
    headers['x-payment-max-amount'] = maxAtomic.toString()
    const method = x402Payment({
      subject: `x402_${payer.toLowerCase()}`,
      maxNano: maxAtomic * NANO_PER_ATOMIC,
      settle: (cost) => settle(cost).catch(() => {}),
      checkpoint: (cost) => void o.pending.checkpoint(base.requestId, cost, material.deadline).catch(() => {}),
    })
    return completeChat(deps, { ...base, principal: payerPrincipal(payer), payment: method }, headers)
  }

  // exact: the worst case, settled before the first byte.
  const exactOffered = offered.filter((r) => r.scheme === 'exact')
  const checked = await checkExactPayment(payment, exactOffered)
  if ('refusal' in checked) return refusal(offered, resourceUrl, new X402PaymentError(checked.refusal.message, checked.refusal.reason), headers)
  const { payer, authorization, requirements } = checked.payment
  await claim(o, base.requestId, requirements, payer, authorization.nonce, authorization.validBefore)
  const payload = payment.payload as PaymentPayload
  await verify(o, payload, requirements)
  const settled = await o.facilitator.settle(payload, requirements)
  const recordBase = { payer, network: requirements.network, asset: requirements.asset, payTo: requirements.payTo, amount: authorization.value.toString(), scheme: 'exact' as const }
  if (settled.kind === 'unknown') {
    record({ ...recordBase, transaction: null, status: 'settle_failed' })
    throw new FacilitatorError(`The facilitator did not say whether the payment settled (${settled.message}); nothing was served.`, 'settlement_unknown')
  }
  if (settled.kind === 'refused') {
    record({ ...recordBase, transaction: null, status: 'settle_failed' })
    return refusal(offered, resourceUrl, new X402PaymentError(`The facilitator did not settle the payment: ${settled.message}`, settled.reason), headers)
  }
  record({ ...recordBase, transaction: settled.response.transaction || null, status: 'settled' })
  const [name, value] = responseHeader(payment.version, settled.response)
  headers[name] = value
  const method = x402Payment({ subject: `x402_${payer.toLowerCase()}`, maxNano: authorization.value * NANO_PER_ATOMIC, settle: async () => {} })
  return completeChat(deps, { ...base, principal: payerPrincipal(payer), payment: method }, headers)
}

/** An upto permit's nonce claimed and its settlement material written (upto-open-3), before anyone verifies it. */
async function claimUpto(o: X402ChatOptions, material: UptoMaterial, nonce: `0x${string}`): Promise<void> {
  const claimed = await o.pending.open(material, nonce).catch(() => {
    throw new FacilitatorError('Payment nonces cannot be checked right now (Redis unreachable); nothing was charged.', 'facilitator_unavailable')
  })
  if (!claimed) throw new X402PaymentError('This payment was already used.', 'invalid_upto_evm_nonce_already_used')
}

/** Claims the nonce before anyone verifies it: concurrent replays of one payment get 402, exactly one goes on. */
async function claim(o: X402ChatOptions, requestId: string, requirements: PaymentRequirements, payer: `0x${string}`, nonce: `0x${string}`, until: bigint): Promise<void> {
  const key = nonceKey(`${o.keyPrefix}:${requirements.scheme}`, requirements.network, requirements.asset, { from: payer, nonce })
  const claimed = await claimNonce(o.redis, key, requestId, until).catch(() => {
    throw new FacilitatorError('Payment nonces cannot be checked right now (Redis unreachable); nothing was charged.', 'facilitator_unavailable')
  })
  if (!claimed) throw new X402PaymentError('This payment was already used.', requirements.scheme === 'upto' ? 'invalid_upto_evm_nonce_already_used' : 'invalid_exact_evm_nonce_already_used')
}

async function verify(o: X402ChatOptions, payload: PaymentPayload, requirements: PaymentRequirements): Promise<void> {
  const verified = await o.facilitator.verify(payload, requirements)
  if (verified.kind === 'unavailable') throw new FacilitatorError(`The facilitator could not verify the payment (${verified.message}); nothing was charged.`, 'facilitator_unavailable')
  if (verified.kind === 'refused') throw new X402PaymentError(`The facilitator refused the payment: ${verified.message}`, verified.reason)
}

