// Metered requests paid over x402 (gateway.x402_chat, `type: metered` routes): the worst case plus the markup quoted with upto (and exact), the payment checked, verified and claimed, then the usual exchange; upto settles the actual cost after the answer.
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types'
import { errorResponse, FacilitatorError, RateLimitError, X402PaymentError } from '../../errors'
import { estimateChat } from '../../exchange/estimate'
import type { PaymentMethod } from '../../exchange/payment'
import { x402Payment } from '../../exchange/payments/x402'
import type { HotRedis } from '../../lib/hot-redis'
import type { Logger } from '../../lib/logger'
import { measurePrompt } from '../../metering/prompt'
import type { ChatRequest } from '../../openai/chat-request'
import { PAYMENT_REQUIRED, encodeRequired, readPayment, responseHeader } from '../../x402/codec'
import type { Facilitator } from '../../x402/facilitator'
import { checkExactPayment } from '../../x402/local-verify'
import { claimForPayer, payerLimitError } from '../../x402/payer-claim'
import type { X402PaymentRecord, X402PaymentRecorder } from '../../x402/payment-record'
import { paymentRequired, type PaymentTerms } from '../../x402/requirements'
import type { UptoSigner } from '../../x402/supported'
import { carriesPayment, limitUnpaid } from '../../x402/address-limit'
import type { X402Cors } from '../../x402/cors'
import { costCoveredNano, withMarkup } from '../../x402/markup'
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
  /** Where payment nonces are claimed (once per permit or authorization) and payers' request limits kept. */
  redis: Pick<HotRedis, 'send' | 'script'>
  /** Requests per minute per payer (X402_PAYER_RPM); 0 or absent: none. */
  payerRpm?: number
  /** Unpaid requests per minute per client address (X402_UNPAID_RPM); 0 or absent: none. */
  unpaidRpm?: number
  keyPrefix: string
  recordPayment: X402PaymentRecorder
  logger: Logger
  /** upto payments awaiting settlement (written before the first byte, checkpointed, settled by a worker after a crash). */
  pending: UptoPending
  /** How long a taker has to settle before a sweeper may take the payment again. */
  settleLeaseMs: number
  /** A `type: metered` route of the config file: every model is answered by its upstream (the route's API format) instead of the catalog's providers. */
  providers?: ProviderRegistry
  /** gateway.cors_origins: pages that may pay from a browser (the grant on keyless answers); null: none. */
  cors?: X402Cors | null
  /** The route's markup in basis points (2000 = 20%), on the quote and on the settled cost; none when absent. */
  markupBps?: number
}

/** The route as payment records name it. */
const ROUTE = 'POST /v1/chat/completions'
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

function refusal(offered: PaymentRequirements[], resourceUrl: string, description: string, error: X402PaymentError, headers: Record<string, string>): Response {
  const required = paymentRequired({ url: resourceUrl, description, mimeType: 'application/json' }, offered, error.message)
  const response = errorResponse(error, { ...headers, [PAYMENT_REQUIRED]: encodeRequired(required) })
  // The JSON body carries the requirements beside our error shape.
  return new Response(JSON.stringify({ ...required, ...error.toBody() }), { status: 402, headers: response.headers })
}

/** One request of a metered route, whatever its API: what it is quoted, and how it is served once paid. */
export interface MeteredCall {
  requestId: string
  /** The route as payment records name it ("POST /v1/messages"). */
  route: string
  /** The 402's resource description. */
  description: string
  /** The exchange's worst case (its hold) at the catalog prices, in nano-USD, before the markup. */
  holdNano: bigint
  /** Runs the exchange for the payer, paid by `payment`. */
  serve(principal: Principal, payment: PaymentMethod): Promise<Response>
}

/**
 * Serves one chat request paid over x402. The quote is the exchange's own worst case (prompt estimate plus output
 * cap at the catalog prices), rounded up to atomic units: an `upto` permit of at least that much settles, after the
 * answer, the cost the meter measured from the provider's usage (rounded up, never above the permit, nothing when
 * it is zero); an `exact` payment of the worst case is settled before anything is sent, and nothing more is charged.
 */
export async function x402Chat(chatDeps: ChatDeps, o: X402ChatOptions, base: Omit<ChatCall, 'principal'>, rawRequest: Request, headers: Record<string, string>, clientAddress: string | null = null): Promise<Response> {
  await limitUnpaidQuote(o, rawRequest, clientAddress)
  const deps = o.providers ? { ...chatDeps, providers: o.providers } : chatDeps
  const { request } = base
  const model = resolveModel(deps.catalog, request.model)
  const adapter = deps.providers[model.provider]
  const estimate = estimateChat({ request, model, measure: await measurePrompt(request as ChatRequest), profile: adapter.prompt, progressiveSliceTokens: null })
  return x402Metered(o, {
    requestId: base.requestId,
    route: ROUTE,
    description: 'Chat completion paid by the tokens it uses',
    holdNano: BigInt(estimate.holdNano),
    serve: (principal, payment) => completeChat(deps, { ...base, principal, payment }, headers),
  }, rawRequest, headers)
}

/**
 * Before anything is quoted (the prompt tokenized, the facilitator's signer read): a request without a payment is
 * counted against its client address, a 429 past X402_UNPAID_RPM. A paying request is counted by its payer instead.
 */
export async function limitUnpaidQuote(o: X402ChatOptions, rawRequest: Request, clientAddress: string | null): Promise<void> {
  if (!carriesPayment(rawRequest.headers)) await limitUnpaid(o.redis, { prefix: o.keyPrefix, address: clientAddress, rpm: o.unpaidRpm ?? 0 })
}

/** The quote (the worst case plus the markup, rounded up to atomic units once), the 402 or the payment, then `call.serve`. */
export async function x402Metered(o: X402ChatOptions, call: MeteredCall, rawRequest: Request, headers: Record<string, string>): Promise<Response> {
  // A free model is still quoted one unit: an x402 amount of zero is not a payment (upto then settles nothing).
  const worstAtomic = nanoToAtomicUp(withMarkup(call.holdNano, o.markupBps ?? 0)) || 1n
  const network = o.terms.options[0]?.asset.caip2
  const signer = network ? await o.uptoSigner(network) : null
  const offered = meteredRequirements(o.terms, worstAtomic, signer)
  const resourceUrl = new URL(rawRequest.url).toString()
  if (offered.length === 0) throw new FacilitatorError('No accepted network is configured for x402 payments.', 'facilitator_unavailable')
  try {
    return await paid(o, call, rawRequest, headers, offered)
  } catch (error) {
    // Refusals after the local checks (a replay, the facilitator's no) carry the requirements too.
    if (error instanceof X402PaymentError) return refusal(offered, resourceUrl, call.description, error, headers)
    throw error
  }
}

async function paid(o: X402ChatOptions, call: MeteredCall, rawRequest: Request, headers: Record<string, string>, offered: PaymentRequirements[]): Promise<Response> {
  const worstAtomic = BigInt(offered[0]!.amount)
  const resourceUrl = new URL(rawRequest.url).toString()
  const markupBps = o.markupBps ?? 0
  const refuse = (error: X402PaymentError) => refusal(offered, resourceUrl, call.description, error, headers)
  const read = readPayment(rawRequest.headers)
  if (read === null) return refuse(new X402PaymentError(`Payment required: this request costs at most ${worstAtomic} USDC atomic units; pay with upto (the actual cost is settled) or exact (the worst case).`, 'payment_required'))
  if ('problem' in read) return refuse(new X402PaymentError(read.problem, 'invalid_payload'))
  const payment = read.payment
  if (payment.version !== 2) return refuse(new X402PaymentError('Metered routes take x402 v2 payments only (PAYMENT-SIGNATURE).', 'invalid_x402_version'))
  const scheme = payment.payload.accepted.scheme
  const startedAt = new Date()
  const record = (r: Omit<X402PaymentRecord, 'requestId' | 'route' | 'startedAt'>) => o.recordPayment({ requestId: call.requestId, route: call.route, startedAt, ...r })

  if (scheme === 'upto') {
    const checked = await checkUptoPayment(payment, offered)
    if ('refusal' in checked) return refuse(new X402PaymentError(checked.refusal.message, checked.refusal.reason))
    const { payer, maxAtomic, requirements, deadline } = checked.payment
    const payload = payment.payload as PaymentPayload
    const material: UptoMaterial = { requestId: call.requestId, route: call.route, payer, maxAtomic: maxAtomic.toString(), deadline: Number(deadline), startedAt: startedAt.toISOString(), payload, requirements, markupBps }
    // The nonce claim and the settlement material, in one round trip: from here a gateway that dies is settled by a worker.
    await claimUpto(o, material, checked.payment.nonce)
    await verify(o, payload, requirements).catch(async (error: unknown) => {
      await o.pending.end(call.requestId).catch(() => {})
      throw error
    })
    const settleDeps = { facilitator: o.facilitator, record: o.recordPayment, logger: o.logger }
    const settle = async (costNano: number) => {
      const taken = await o.pending.take(call.requestId, { finish: BigInt(costNano) }, o.settleLeaseMs).catch((error: Error) => ({ kind: 'unreachable' as const, message: error.message }))
      if (taken.kind === 'unreachable') {
        // Without the take there is no guard against a second settle: the sweeper settles the last checkpoint instead.
        return o.logger.error('x402 upto payment not taken at the finish (Redis unreachable); the upto sweeper settles its last checkpoint', { requestId: call.requestId, payer, message: taken.message })
      }
      // A sweeper took it (this gateway's lease ran out first): it settles, once.
      if (taken.kind !== 'taken') return o.logger.warn('x402 upto payment already taken by the upto sweeper', { requestId: call.requestId, payer })
      // The markup is applied once, on the final cost, by settleUpto (the material carries the route's markup).
      const outcome = await settleUpto(settleDeps, material, BigInt(costNano), 'after the answer')
      if (outcome.kind === 'unreachable') {
        // Given back to the upto sweeper with the final cost: it retries until the permit's deadline.
        const handedOver = await o.pending.retryAt(call.requestId, Date.now() + UPTO_RETRY_FIRST_MS).then(() => true, () => false)
        if (handedOver) return o.logger.warn('x402 upto settlement did not reach the facilitator after the answer; the upto sweeper retries', { requestId: call.requestId, payer, message: outcome.message })
        recordFailure(settleDeps, material, outcome.amount, 'after the answer', outcome.message)
      }
      await o.pending.end(call.requestId).catch((error: Error) => o.logger.warn('x402 upto payment settled but not removed from Redis; the sweeper drops it', { requestId: call.requestId, message: error.message }))
    }
    headers['x-payment-max-amount'] = maxAtomic.toString()
    const method = x402Payment({
      subject: `x402_${payer.toLowerCase()}`,
      maxNano: costCoveredNano(maxAtomic, markupBps),
      settle: (cost) => settle(cost).catch(() => {}),
      // The running cost before the markup: the sweeper settles it with the material's markup, like the finish.
      checkpoint: (cost) => void o.pending.checkpoint(call.requestId, cost, material.deadline).catch(() => {}),
    })
    return call.serve(payerPrincipal(payer), method)
  }

  // exact: the worst case, settled before the first byte.
  const exactOffered = offered.filter((r) => r.scheme === 'exact')
  const checked = await checkExactPayment(payment, exactOffered)
  if ('refusal' in checked) return refuse(new X402PaymentError(checked.refusal.message, checked.refusal.reason))
  const { payer, authorization, requirements } = checked.payment
  await claim(o, call.requestId, requirements, payer, authorization.nonce, authorization.validBefore)
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
    return refuse(new X402PaymentError(`The facilitator did not settle the payment: ${settled.message}`, settled.reason))
  }
  record({ ...recordBase, transaction: settled.response.transaction || null, status: 'settled' })
  const [name, value] = responseHeader(payment.version, settled.response)
  headers[name] = value
  const method = x402Payment({ subject: `x402_${payer.toLowerCase()}`, maxNano: costCoveredNano(authorization.value, markupBps), settle: async () => {} })
  return call.serve(payerPrincipal(payer), method)
}

/**
 * An upto payment admitted in one script call (upto-open-4), before anyone verifies it: the payer's request limit
 * charged (over it: 429, nothing claimed, the payment may be sent again), the permit's nonce claimed (concurrent
 * replays get 402, exactly one goes on) and its settlement material written for the sweeper.
 */
async function claimUpto(o: X402ChatOptions, material: UptoMaterial, nonce: `0x${string}`): Promise<void> {
  const rpm = o.payerRpm ?? 0
  const opened = await o.pending.open(material, nonce, rpm).catch(() => {
    throw new FacilitatorError('Payment nonces cannot be checked right now (Redis unreachable); nothing was charged.', 'facilitator_unavailable')
  })
  if (opened.kind === 'limited') throw payerLimitError(material.payer, rpm, opened.retryMs)
  if (opened.kind === 'replay') throw new X402PaymentError('This payment was already used.', 'invalid_upto_evm_nonce_already_used')
}

/**
 * An exact payment's nonce claimed before anyone verifies it (concurrent replays get 402, exactly one goes on), and
 * the payer's request limit charged in the same script call (x402-claim-2; a payer over it gets 429 and keeps its payment).
 */
async function claim(o: X402ChatOptions, requestId: string, requirements: PaymentRequirements, payer: `0x${string}`, nonce: `0x${string}`, until: bigint): Promise<void> {
  const request = { prefix: o.keyPrefix, scheme: requirements.scheme, network: requirements.network, asset: requirements.asset, payer, nonce, until, token: requestId, rpm: o.payerRpm ?? 0 }
  const claimed = await claimForPayer(o.redis, request).catch((error: unknown) => {
    if (error instanceof RateLimitError) throw error
    throw new FacilitatorError('Payment nonces cannot be checked right now (Redis unreachable); nothing was charged.', 'facilitator_unavailable')
  })
  if (!claimed) throw new X402PaymentError('This payment was already used.', requirements.scheme === 'upto' ? 'invalid_upto_evm_nonce_already_used' : 'invalid_exact_evm_nonce_already_used')
}

async function verify(o: X402ChatOptions, payload: PaymentPayload, requirements: PaymentRequirements): Promise<void> {
  const verified = await o.facilitator.verify(payload, requirements)
  if (verified.kind === 'unavailable') throw new FacilitatorError(`The facilitator could not verify the payment (${verified.message}); nothing was charged.`, 'facilitator_unavailable')
  if (verified.kind === 'refused') throw new X402PaymentError(`The facilitator refused the payment: ${verified.message}`, verified.reason)
}

