// webhooks.constructEvent: checks a delivery's Standard Webhooks signature (constant time, 300 s tolerance) and returns the parsed event.
import { WebhookVerificationError } from './errors'
import { base64ToBytes, hmacSha256, timingSafeEqual } from './hmac'

export interface WebhookEvent<T = Record<string, unknown>> {
  id: string
  type: string
  created_at: string
  data: T
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>

export const DEFAULT_TOLERANCE_SECONDS = 300

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof Headers !== 'undefined' && headers instanceof Headers) return headers.get(name) ?? undefined
  // Plain objects from frameworks (Node's IncomingHttpHeaders, Express) may keep the sender's case, or hold arrays.
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value
  }
  return undefined
}

const encoder = new TextEncoder()

export interface ConstructEventOptions {
  toleranceSeconds?: number
  /** The clock, in unix seconds (tests). */
  nowSeconds?: number
}

/**
 * Verifies `rawBody` (the exact text received, before any JSON parsing) against the `webhook-id`,
 * `webhook-timestamp` and `webhook-signature` headers with the endpoint's `whsec_…` secret, and returns the event.
 * Any one of the space-separated `v1,` signatures may match (several are sent while a secret rotates). Timestamps
 * more than the tolerance away on either side are refused, so a captured delivery cannot be replayed later.
 */
export function constructEvent<T = Record<string, unknown>>(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: string, options: ConstructEventOptions = {}): WebhookEvent<T> {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signatures = header(headers, 'webhook-signature')
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('Missing webhook-id, webhook-timestamp or webhook-signature header')
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('Invalid webhook-timestamp header')
  if (Math.abs(now - Number(timestamp)) > tolerance) throw new WebhookVerificationError('Message timestamp outside the tolerance')
  const key = base64ToBytes(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret)
  if (!key || key.length === 0) throw new WebhookVerificationError('The secret is not a whsec_… signing secret')

  const body = typeof rawBody === 'string' ? rawBody : new TextDecoder().decode(rawBody)
  const expected = hmacSha256(key, encoder.encode(`${id}.${timestamp}.${body}`))
  let matched = false
  for (const versioned of signatures.split(' ')) {
    const [version, signature] = versioned.split(',', 2)
    if (version !== 'v1' || !signature) continue
    const candidate = base64ToBytes(signature)
    // No early exit: every candidate is compared, each in constant time.
    if (candidate && timingSafeEqual(candidate, expected)) matched = true
  }
  if (!matched) throw new WebhookVerificationError('No matching signature found')
  try {
    return JSON.parse(body) as WebhookEvent<T>
  } catch {
    throw new WebhookVerificationError('The body is not JSON')
  }
}

export const webhooksResource = () => ({ constructEvent })
