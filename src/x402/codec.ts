// The x402 headers on the wire: reading a payment (PAYMENT-SIGNATURE v2, X-PAYMENT v1) and writing PAYMENT-REQUIRED and PAYMENT-RESPONSE, with @x402/core's encodings.
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http'
import { parsePaymentPayload } from '@x402/core/schemas'
import type { PaymentPayload, PaymentPayloadV1, PaymentRequired, SettleResponse } from '@x402/core/types'

export const PAYMENT_SIGNATURE = 'payment-signature'
export const X_PAYMENT = 'x-payment'
export const PAYMENT_REQUIRED = 'payment-required'
export const PAYMENT_RESPONSE = 'payment-response'
export const X_PAYMENT_RESPONSE = 'x-payment-response'

/** Headers that carry a payment: never forwarded to an upstream. */
export const PAYMENT_HEADERS: readonly string[] = [PAYMENT_SIGNATURE, X_PAYMENT, PAYMENT_REQUIRED, PAYMENT_RESPONSE, X_PAYMENT_RESPONSE]

/** A payment header decoded and shaped as the spec says (the scheme's own payload is checked by its verifier). */
export type DecodedPayment = { version: 2; payload: PaymentPayload & { x402Version: 2 } } | { version: 1; payload: PaymentPayloadV1 }

/** The most a payment header may weigh: a signed EIP-3009 authorization is well under 2 KiB. */
const MAX_HEADER_CHARS = 16 * 1024

/**
 * The payment a request carries: null when it carries none, `problem` when the header cannot be read. A v2 header
 * must hold a v2 payload and X-PAYMENT a v1 one; when both are sent, PAYMENT-SIGNATURE is read.
 */
export function readPayment(headers: Headers): { payment: DecodedPayment } | { problem: string; version: 1 | 2 } | null {
  const v2 = headers.get(PAYMENT_SIGNATURE)
  const raw = v2 ?? headers.get(X_PAYMENT)
  if (raw === null) return null
  const version = v2 !== null ? 2 : 1
  const name = version === 2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT'
  if (raw.length > MAX_HEADER_CHARS) return { problem: `${name} is over ${MAX_HEADER_CHARS} characters`, version }
  let decoded: unknown
  try {
    decoded = decodePaymentSignatureHeader(raw.trim())
  } catch {
    return { problem: `${name} is not base64-encoded JSON`, version }
  }
  const parsed = parsePaymentPayload(decoded)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { problem: `${name} is not an x402 payment payload${issue ? ` (${issue.path.join('.') || 'payload'}: ${issue.message})` : ''}`, version }
  }
  if (parsed.data.x402Version !== version) return { problem: `${name} carries an x402Version ${parsed.data.x402Version} payload; expected ${version}`, version }
  return version === 2 ? { payment: { version: 2, payload: parsed.data as PaymentPayload & { x402Version: 2 } } } : { payment: { version: 1, payload: parsed.data as unknown as PaymentPayloadV1 } }
}

export const encodeRequired = (required: PaymentRequired): string => encodePaymentRequiredHeader(required)

/** The settlement header: PAYMENT-RESPONSE for v2, X-PAYMENT-RESPONSE for v1 (same base64 JSON). */
export function responseHeader(version: 1 | 2, settlement: SettleResponse): [string, string] {
  return [version === 2 ? PAYMENT_RESPONSE : X_PAYMENT_RESPONSE, encodePaymentResponseHeader(settlement)]
}
