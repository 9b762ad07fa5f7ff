// SDK helper for receivers of Meterway webhooks: constructEvent checks the Standard Webhooks signature and returns the event.
// Self-contained (node:crypto only) so it can be copied into a customer's code base as is.
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface WebhookEvent<T = Record<string, unknown>> {
  id: string
  type: string
  created_at: string
  data: T
}

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError'
}

export const DEFAULT_TOLERANCE_SECONDS = 300

function header(headers: Record<string, string | undefined> | Headers, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined
  // Plain objects from frameworks may keep the sender's case.
  const direct = headers[name]
  if (direct !== undefined) return direct
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value
  return undefined
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64')
}

/**
 * Verifies `rawBody` (the exact bytes received, before any JSON parsing) against the webhook-* headers and returns the
 * parsed event; throws WebhookVerificationError otherwise. Any one of the space-separated `v1,` signatures may match
 * (several are sent while a secret is being rotated). Timestamps are refused on both sides of the tolerance, so a
 * captured delivery cannot be replayed later and a sender clock running ahead cannot mint long-lived signatures.
 */
export function constructEvent<T = Record<string, unknown>>(
  rawBody: string,
  headers: Record<string, string | undefined> | Headers,
  secret: string,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  nowSeconds = Math.floor(Date.now() / 1000),
): WebhookEvent<T> {
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header')
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('Invalid webhook-timestamp header')
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) throw new WebhookVerificationError('Message timestamp outside the tolerance')

  const expected = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${rawBody}`, 'utf8').digest()
  let matched = false
  for (const versioned of signatures.split(' ')) {
    const [version, signature] = versioned.split(',', 2)
    if (version !== 'v1' || !signature) continue
    const candidate = Buffer.from(signature, 'base64')
    // timingSafeEqual needs equal lengths; a candidate of another length cannot match. No early exit: every candidate is compared.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true
  }
  if (!matched) throw new WebhookVerificationError('No matching signature found')

  let event: unknown
  try {
    event = JSON.parse(rawBody)
  } catch {
    throw new WebhookVerificationError('The body is not JSON')
  }
  return event as WebhookEvent<T>
}
