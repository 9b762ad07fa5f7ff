// Stripe webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">[,v1=…]`, checked over the raw body.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300

export type SignatureFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'no_v1_signature'
  | 'timestamp_outside_tolerance'
  | 'no_matching_signature'

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure }

const HEX_SHA256 = /^[0-9a-f]{64}$/

/**
 * Pure: no clock, no I/O. Any one matching `v1` passes (Stripe sends several while a secret is being rolled);
 * other schemes (v0 …) are ignored. Timestamps are refused on both sides of the tolerance, so a clock that
 * runs ahead cannot mint signatures that stay valid for longer.
 */
export function verifyStripeSignature(
  payload: string,
  header: string | null | undefined,
  secret: string,
  toleranceSeconds: number,
  nowSeconds: number,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing_header' }
  let timestamp: number | null = null
  const candidates: string[] = []
  for (const part of header.split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const key = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return { ok: false, reason: 'malformed_header' }
      timestamp = Number(value)
    } else if (key === 'v1') {
      candidates.push(value.toLowerCase())
    }
  }
  if (timestamp === null) return { ok: false, reason: 'malformed_header' }
  if (candidates.length === 0) return { ok: false, reason: 'no_v1_signature' }
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'timestamp_outside_tolerance' }

  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex'), 'ascii')
  // timingSafeEqual needs equal lengths; a candidate of another shape cannot match and is skipped without comparing.
  const matches = candidates.some((candidate) => HEX_SHA256.test(candidate) && timingSafeEqual(expected, Buffer.from(candidate, 'ascii')))
  return matches ? { ok: true, timestamp } : { ok: false, reason: 'no_matching_signature' }
}

