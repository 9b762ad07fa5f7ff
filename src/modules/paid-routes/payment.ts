// The x402 gate of a paid route: 402 with the requirements, or a payment checked locally, its nonce claimed (and the payer's request limit charged), verified and settled before anything is proxied.
import type { PaymentPayload, PaymentRequirements, ResourceInfo, SettleResponse } from '@x402/core/types'
import { FacilitatorError, RateLimitError, ServiceUnavailableError } from '../../errors'
import type { HotRedis } from '../../lib/hot-redis'
import type { Logger } from '../../lib/logger'
import { x402Payments } from '../../lib/metrics'
import { encodeRequired, PAYMENT_REQUIRED, readPayment, type DecodedPayment } from '../../x402/codec'
import type { Facilitator } from '../../x402/facilitator'
import { checkExactPayment, type CheckedPayment } from '../../x402/local-verify'
import { limitUnpaid } from '../../x402/address-limit'
import { claimForPayer } from '../../x402/payer-claim'
import type { X402PaymentRecord, X402PaymentRecorder } from '../../x402/payment-record'
import { paymentRequired, paymentRequiredV1, requirementsFor, toV1, type PaymentTerms } from '../../x402/requirements'

export interface PaymentGateDeps {
  terms: PaymentTerms
  facilitator: Facilitator
  /** The request path's Redis (nonce claims, payers' request limits); null: payments are refused with 503. */
  redis: Pick<HotRedis, 'send' | 'script'> | null
  keyPrefix: string
  /** Requests per minute per payer (X402_PAYER_RPM); 0: none. */
  payerRpm: number
  /** Unpaid requests per minute per client address (X402_UNPAID_RPM); 0 or absent: none. */
  unpaidRpm?: number
  recordPayment: X402PaymentRecorder
  logger: Logger
}

export interface PaymentContext {
  requestId: string
  route: string
  amount: bigint
  resource: ResourceInfo
  startedAt: Date
  /** Counts an unpaid request (X402_UNPAID_RPM); null or absent: not limited. */
  clientAddress?: string | null
}

/** A settled payment: what the answer's PAYMENT-RESPONSE carries and the record is made of. */
export interface Paid {
  version: 1 | 2
  settlement: SettleResponse
  checked: CheckedPayment
}

export type Outcome = 'required' | 'invalid' | 'replayed' | 'rate_limited' | 'verify_refused' | 'facilitator_unavailable' | 'settle_refused' | 'settle_unknown' | 'settled' | 'upstream_failed'
export const countPayment = (outcome: Outcome) => x402Payments.inc({ outcome })

/** The 402: PAYMENT-REQUIRED (v2) with the reason, and a body with the same and our error shape; v1 gets the v1 body. */
export function paymentRequiredResponse(version: 1 | 2, accepts: PaymentRequirements[], resource: ResourceInfo, reason: string, message: string, requestId: string): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId, 'cache-control': 'no-store' }
  if (version === 1) return new Response(JSON.stringify(paymentRequiredV1(resource, accepts, `${reason}: ${message}`)), { status: 402, headers })
  const required = paymentRequired(resource, accepts, message)
  headers[PAYMENT_REQUIRED] = encodeRequired(required)
  const body = { ...paymentRequired(resource, accepts), error: { message, type: 'payment_error', param: null, code: reason } }
  return new Response(JSON.stringify(body), { status: 402, headers })
}

/** What goes to the facilitator: the payload as the client sent it, and the requirement it pays in the same version's form. */
function forFacilitator(payment: DecodedPayment, requirements: PaymentRequirements, resource: ResourceInfo): [PaymentPayload, PaymentRequirements] {
  if (payment.version === 2) return [payment.payload, requirements]
  return [payment.payload as unknown as PaymentPayload, toV1(requirements, resource) as unknown as PaymentRequirements]
}

/**
 * Takes the request's payment, or answers. In order: a payment is there and readable, the local checks (scheme,
 * network, asset, payTo, amount, time window, signature), the nonce claimed in Redis, the facilitator's /verify, then
 * /settle. Resolves with the settled payment, or with the Response to send (402 with a reason); throws
 * FacilitatorError (502) when the facilitator cannot be asked or does not say whether it settled, and
 * ServiceUnavailableError when Redis cannot claim the nonce. Nothing here touches Postgres.
 */
export async function collectPayment(deps: PaymentGateDeps, headers: Headers, context: PaymentContext): Promise<{ paid: Paid } | { response: Response }> {
  const accepts = requirementsFor(deps.terms, context.amount)
  const refuse = (version: 1 | 2, outcome: Outcome, reason: string, message: string) => {
    countPayment(outcome)
    return { response: paymentRequiredResponse(version, accepts, context.resource, reason, message, context.requestId) }
  }
  const read = readPayment(headers)
  if (read === null && deps.redis) await limitUnpaid(deps.redis, { prefix: deps.keyPrefix, address: context.clientAddress ?? null, rpm: deps.unpaidRpm ?? 0 })
  if (read === null) return refuse(2, 'required', 'payment_required', `This route costs ${context.amount} USDC atomic units. Pay with x402: sign one of accepts and send it base64-encoded in PAYMENT-SIGNATURE.`)
  if ('problem' in read) return refuse(read.version, 'invalid', 'invalid_payload', read.problem)
  const payment = read.payment
  const local = await checkExactPayment(payment, accepts)
  if ('refusal' in local) return refuse(payment.version, 'invalid', local.refusal.reason, local.refusal.message)
  const checked = local.payment
  const requirements = checked.requirements

  if (!deps.redis) throw new ServiceUnavailableError('x402 payments need Redis (nonce claims); none is configured.', 'payments_unavailable')
  let claimed: boolean
  try {
    // The nonce claimed and the payer's request limit charged in one script call (a payer over it: 429, nothing claimed).
    const { from, nonce, validBefore } = checked.authorization
    claimed = await claimForPayer(deps.redis, { prefix: deps.keyPrefix, scheme: 'exact', network: requirements.network, asset: requirements.asset, payer: from, nonce, until: validBefore, token: context.requestId, rpm: deps.payerRpm })
  } catch (error) {
    if (error instanceof RateLimitError) {
      countPayment('rate_limited')
      throw error
    }
    deps.logger.warn('x402 nonce claim failed', { requestId: context.requestId, error: (error as Error).message })
    throw new ServiceUnavailableError('x402 payments are unavailable for a moment (Redis did not answer); nothing was charged. Retry shortly.', 'payments_unavailable')
  }
  if (!claimed) return refuse(payment.version, 'replayed', 'invalid_exact_evm_nonce_already_used', `This payment (nonce ${checked.authorization.nonce}) was already presented; sign a new one.`)

  const record = (status: X402PaymentRecord['status'], transaction: string | null, amount = checked.authorization.value.toString()) =>
    deps.recordPayment({
      requestId: context.requestId,
      route: context.route,
      payer: checked.payer,
      network: requirements.network,
      asset: requirements.asset,
      payTo: requirements.payTo,
      amount,
      scheme: 'exact',
      transaction,
      status,
      startedAt: context.startedAt,
    })
  const [payload, sent] = forFacilitator(payment, requirements, context.resource)
  const verified = await deps.facilitator.verify(payload, sent)
  if (verified.kind === 'unavailable') {
    countPayment('facilitator_unavailable')
    deps.logger.warn('x402 facilitator verify failed', { requestId: context.requestId, facilitator: deps.facilitator.url, error: verified.message })
    throw new FacilitatorError('The payment facilitator could not be reached to verify the payment; nothing was charged and the request was not sent. Retry with a new payment.', 'facilitator_unavailable')
  }
  if (verified.kind === 'refused') {
    record('refused', null)
    return refuse(payment.version, 'verify_refused', verified.reason, `The facilitator refused the payment: ${verified.message}`)
  }
  // Settled before the upstream is called: an answer (a stream above all) never goes out unpaid.
  const settled = await deps.facilitator.settle(payload, sent)
  if (settled.kind === 'unknown') {
    countPayment('settle_unknown')
    record('settle_failed', null)
    deps.logger.error('x402 settle failed midway', { requestId: context.requestId, facilitator: deps.facilitator.url, payer: checked.payer, nonce: checked.authorization.nonce, error: settled.message })
    throw new FacilitatorError(`The payment facilitator did not confirm the settlement (${settled.message}); the request was not sent. If the payment was taken, its nonce ${checked.authorization.nonce} shows it on chain.`, 'settlement_unknown')
  }
  if (settled.kind === 'refused') {
    record('refused', null)
    return refuse(payment.version, 'settle_refused', settled.reason, `The facilitator did not settle the payment: ${settled.message}. Nothing was charged and the request was not sent.`)
  }
  return { paid: { version: payment.version, settlement: settled.response, checked } }
}

/** The record of a settled payment once the upstream answered (or did not). */
export function recordSettled(deps: PaymentGateDeps, context: PaymentContext, paid: Paid, upstreamFailed: boolean): void {
  countPayment(upstreamFailed ? 'upstream_failed' : 'settled')
  const requirements = paid.checked.requirements
  deps.recordPayment({
    requestId: context.requestId,
    route: context.route,
    payer: paid.checked.payer,
    network: requirements.network,
    asset: requirements.asset,
    payTo: requirements.payTo,
    amount: paid.settlement.amount ?? paid.checked.authorization.value.toString(),
    scheme: 'exact',
    transaction: paid.settlement.transaction || null,
    status: upstreamFailed ? 'upstream_failed' : 'settled',
    startedAt: context.startedAt,
  })
}
