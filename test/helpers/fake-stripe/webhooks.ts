// Webhooks: Stripe event JSON, the Stripe-Signature header, and building or delivering the request Stripe would send.
import { createHmac } from 'node:crypto'
import { FAKE_STRIPE_API_VERSION } from './constants'
import { randomId } from './form'

/** `Stripe-Signature` for this exact payload: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.payload")>`. */
export function signStripeEvent(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`
}

export interface StripeEventJson {
  id: string
  object: 'event'
  api_version: string
  created: number
  data: { object: Record<string, unknown> }
  livemode: false
  pending_webhooks: number
  request: { id: string | null; idempotency_key: string | null }
  type: string
}

export function stripeEvent(type: string, object: object, id: string = randomId('evt')): StripeEventJson {
  return {
    id,
    object: 'event',
    api_version: FAKE_STRIPE_API_VERSION,
    created: Math.floor(Date.now() / 1000),
    data: { object: structuredClone(object) as Record<string, unknown> },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  }
}

/** Stripe's payloads are pretty-printed JSON: a verifier that re-serialises the parsed body would not match. */
export const stripePayload = (event: StripeEventJson) => JSON.stringify(event, null, 2)

/** The request Stripe would send; `signature` overrides the header (null: none). */
export function webhookRequest(
  webhookUrl: string,
  event: StripeEventJson,
  secret: string,
  options: { timestamp?: number; signature?: string | null; payload?: string } = {},
): Request {
  const payload = options.payload ?? stripePayload(event)
  const signature = options.signature === undefined ? signStripeEvent(payload, secret, options.timestamp) : options.signature
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    'cache-control': 'no-cache',
    accept: '*/*; q=0.5, application/xml',
  }
  if (signature !== null) headers['stripe-signature'] = signature
  return new Request(webhookUrl, { method: 'POST', headers, body: payload })
}

export function deliver(webhookUrl: string, event: StripeEventJson, secret: string): Promise<Response> {
  return fetch(webhookRequest(webhookUrl, event, secret))
}
