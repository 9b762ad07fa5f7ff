// A local fake of Stripe's HTTP API (customers, Checkout, meter events) for the official SDK, plus webhook signing and delivery.
import { createHmac } from 'node:crypto'
import type { Server } from 'bun'
import Stripe from 'stripe'

export const FAKE_STRIPE_SECRET_KEY = 'sk_test_fake_0123456789abcdef'
/** The API version stamped on answers and events: the SDK's own default, as an account pinned to it would get. */
export const FAKE_STRIPE_API_VERSION = Stripe.API_VERSION

const DAY_MS = 86_400_000
const METER_PAST_LIMIT_MS = 35 * DAY_MS
const METER_FUTURE_LIMIT_MS = 5 * 60_000
const IDENTIFIER_WINDOW_MS = DAY_MS

export interface RecordedStripeRequest {
  method: string
  path: string
  /** The decoded form body, flat as sent: `line_items[0][price]` → `price_…`. */
  form: Record<string, string>
  idempotencyKey: string | null
  /** The status the fake answered, or 'hang' for a call it never answered. */
  outcome: number | 'hang'
  /** True when the answer was the stored answer of an earlier call with the same Idempotency-Key. */
  replayed: boolean
}

export type FailureMode = 'rate_limit' | 'server_error' | 'hang'

export interface FailurePlan {
  /** Several modes take turns, failure after failure: ['rate_limit', 'server_error', 'hang'] mixes all three. */
  mode: FailureMode | FailureMode[]
  /** Share of the matching calls that fail, spread evenly and deterministically: 0.5 fails every second call. Default 1. */
  share?: number
  /** Stop failing after this many failures. Default: no limit. */
  count?: number
  /** Only calls whose path starts with this (e.g. '/v1/billing/meter_events'). */
  path?: string
  /** Apply the call (remembering its answer for its Idempotency-Key) and then fail: the effect happened, the answer was lost. */
  afterEffect?: boolean
}

export interface FakeCustomer {
  id: string
  object: 'customer'
  created: number
  name: string | null
  email: string | null
  description: string | null
  metadata: Record<string, string>
  livemode: false
  deleted?: true
}

export interface FakeCheckoutSession {
  id: string
  object: 'checkout.session'
  created: number
  expires_at: number
  url: string | null
  mode: string
  customer: string | null
  client_reference_id: string | null
  success_url: string | null
  cancel_url: string | null
  status: 'open' | 'complete' | 'expired'
  payment_status: 'unpaid' | 'paid'
  subscription: string | null
  metadata: Record<string, string>
  livemode: false
  /** Not part of Stripe's object: what the fake needs to build the subscription on completion. */
  line_items: { price: string; quantity: number }[]
  subscription_metadata: Record<string, string>
}

export interface FakeSubscription {
  id: string
  object: 'subscription'
  created: number
  customer: string
  status: string
  metadata: Record<string, string>
  items: { object: 'list'; data: { id: string; object: 'subscription_item'; price: { id: string; object: 'price' }; quantity: number }[] }
  livemode: false
}

export interface FakeMeterEvent {
  object: 'billing.meter_event'
  created: number
  event_name: string
  identifier: string
  livemode: false
  payload: Record<string, string>
  timestamp: number
}

export interface FakeStripe {
  url: string
  secretKey: string
  requests: RecordedStripeRequest[]
  customers: Map<string, FakeCustomer>
  sessions: Map<string, FakeCheckoutSession>
  subscriptions: Map<string, FakeSubscription>
  /** Accepted meter events, one per identifier (duplicates are not added). */
  meterEvents: FakeMeterEvent[]
  /** Meter events refused as duplicates of an identifier seen within 24 h. */
  duplicateMeterEvents: number
  /** Σ payload[value] of accepted events for one customer and event name (integers, exact). */
  meterTotal(customerId: string, eventName: string): bigint
  /** Fail a share of the calls from now on (null: stop failing). */
  setFailure(plan: FailurePlan | null): void
  /** What Stripe does when the payer finishes Checkout: a subscription (with subscription_data.metadata), the session completed. */
  completeCheckout(sessionId: string): { session: PublicCheckoutSession; subscription: FakeSubscription }
  stop(): Promise<void>
}

export interface FakeStripeOptions {
  secretKey?: string
  /** The fake's clock in ms (meter-event windows, created stamps); Date.now by default. */
  now?: () => number
}

interface Answer {
  status: number
  body: unknown
}

const randomId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`

function stripeError(status: number, type: string, message: string, extra: { code?: string; param?: string } = {}): Answer {
  return { status, body: { error: { type, message, ...extra, ...(extra.code ? { doc_url: `https://stripe.com/docs/error-codes/${extra.code.replaceAll('_', '-')}` } : {}) } } }
}

const missing = (param: string) =>
  stripeError(400, 'invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param })

/** `metadata[agent_id]=x` → { agent_id: 'x' } for the given prefix. */
function nested(form: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {}
  const open = `${prefix}[`
  for (const [key, value] of Object.entries(form)) {
    if (key.startsWith(open) && key.endsWith(']') && !key.slice(open.length, -1).includes('[')) out[key.slice(open.length, -1)] = value
  }
  return out
}

/** The secret key from `Authorization: Bearer sk_…` or HTTP Basic (`curl -u sk_…:`). */
function presentedKey(request: Request): string | null {
  const header = request.headers.get('authorization') ?? ''
  if (/^bearer /i.test(header)) return header.slice(7).trim()
  if (/^basic /i.test(header)) return atob(header.slice(6).trim()).replace(/:.*$/, '')
  return null
}

const masked = (key: string) => `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`

export function startFakeStripe(options: FakeStripeOptions = {}): FakeStripe {
  const secretKey = options.secretKey ?? FAKE_STRIPE_SECRET_KEY
  const now = options.now ?? Date.now
  const seconds = () => Math.floor(now() / 1000)
  const requests: RecordedStripeRequest[] = []
  const customers = new Map<string, FakeCustomer>()
  const sessions = new Map<string, FakeCheckoutSession>()
  const subscriptions = new Map<string, FakeSubscription>()
  const meterEvents: FakeMeterEvent[] = []
  const meterByIdentifier = new Map<string, { event: FakeMeterEvent; receivedAt: number }>()
  const totals = new Map<string, bigint>()
  const idempotent = new Map<string, { fingerprint: string; answer: Answer }>()
  const hanging = new Set<() => void>()
  let failure: (FailurePlan & { seen: number; failed: number }) | null = null
  let duplicateMeterEvents = 0

  function createCustomer(form: Record<string, string>): Answer {
    const customer: FakeCustomer = {
      id: randomId('cus'),
      object: 'customer',
      created: seconds(),
      name: form.name ?? null,
      email: form.email ?? null,
      description: form.description ?? null,
      metadata: nested(form, 'metadata'),
      livemode: false,
    }
    customers.set(customer.id, customer)
    return { status: 200, body: customer }
  }

  function noSuchCustomer(id: string, param: string): Answer {
    return stripeError(400, 'invalid_request_error', `No such customer: '${id}'`, { code: 'resource_missing', param })
  }

  function retrieveCustomer(id: string): Answer {
    const customer = customers.get(id)
    if (!customer) return { ...noSuchCustomer(id, 'id'), status: 404 }
    return { status: 200, body: customer.deleted ? { id, object: 'customer', deleted: true } : customer }
  }

  function deleteCustomer(id: string): Answer {
    const customer = customers.get(id)
    if (!customer || customer.deleted) return { ...noSuchCustomer(id, 'id'), status: 404 }
    customer.deleted = true
    return { status: 200, body: { id, object: 'customer', deleted: true } }
  }

  function createSession(form: Record<string, string>): Answer {
    const mode = form.mode
    if (!mode) return missing('mode')
    if (!['payment', 'setup', 'subscription'].includes(mode)) {
      return stripeError(400, 'invalid_request_error', `Invalid mode: must be one of payment, setup, or subscription`, { param: 'mode' })
    }
    const lineItems: { price: string; quantity: number }[] = []
    for (let i = 0; form[`line_items[${i}][price]`] !== undefined; i++) {
      lineItems.push({ price: form[`line_items[${i}][price]`]!, quantity: Number(form[`line_items[${i}][quantity]`] ?? '1') })
    }
    if (mode === 'subscription' && lineItems.length === 0) return missing('line_items')
    const customer = form.customer ?? null
    if (customer !== null && (!customers.has(customer) || customers.get(customer)!.deleted)) return noSuchCustomer(customer, 'customer')
    const id = randomId('cs_test')
    const session: FakeCheckoutSession = {
      id,
      object: 'checkout.session',
      created: seconds(),
      expires_at: seconds() + 86_400,
      url: `https://checkout.stripe.test/c/pay/${id}`,
      mode,
      customer,
      client_reference_id: form.client_reference_id ?? null,
      success_url: form.success_url ?? null,
      cancel_url: form.cancel_url ?? null,
      status: 'open',
      payment_status: 'unpaid',
      subscription: null,
      metadata: nested(form, 'metadata'),
      livemode: false,
      line_items: lineItems,
      subscription_metadata: nested(form, 'subscription_data[metadata]'),
    }
    sessions.set(id, session)
    return { status: 200, body: publicSession(session) }
  }

  function createMeterEvent(form: Record<string, string>): Answer {
    const eventName = form.event_name
    if (!eventName) return missing('event_name')
    const customer = form['payload[stripe_customer_id]']
    if (!customer) return missing('payload[stripe_customer_id]')
    const value = form['payload[value]']
    if (value === undefined) return missing('payload[value]')
    // Stripe also takes decimals; the fake keeps exact integer totals, which is what Meterway sends (nano-USD).
    if (!/^-?\d+$/.test(value)) {
      return stripeError(400, 'invalid_request_error', `Invalid payload[value]: the fake only takes integers; got '${value}'.`, { code: 'meter_event_invalid_value', param: 'payload[value]' })
    }
    const at = now()
    let timestamp = Math.floor(at / 1000)
    if (form.timestamp !== undefined) {
      if (!/^\d+$/.test(form.timestamp)) return stripeError(400, 'invalid_request_error', 'Invalid integer: timestamp', { param: 'timestamp' })
      timestamp = Number(form.timestamp)
      if (at - timestamp * 1000 > METER_PAST_LIMIT_MS) {
        return stripeError(400, 'invalid_request_error', 'Timestamp must be within the past 35 calendar days.', { code: 'timestamp_too_far_in_past', param: 'timestamp' })
      }
      if (timestamp * 1000 - at > METER_FUTURE_LIMIT_MS) {
        return stripeError(400, 'invalid_request_error', 'Timestamp must not be more than 5 minutes in the future.', { code: 'timestamp_in_future', param: 'timestamp' })
      }
    }
    const identifier = form.identifier ?? randomId('mev')
    const seen = meterByIdentifier.get(identifier)
    if (seen && at - seen.receivedAt < IDENTIFIER_WINDOW_MS) {
      duplicateMeterEvents++
      return { status: 200, body: seen.event }
    }
    const event: FakeMeterEvent = {
      object: 'billing.meter_event',
      created: Math.floor(at / 1000),
      event_name: eventName,
      identifier,
      livemode: false,
      payload: nested(form, 'payload'),
      timestamp,
    }
    meterByIdentifier.set(identifier, { event, receivedAt: at })
    meterEvents.push(event)
    const key = `${customer}\u0000${eventName}`
    totals.set(key, (totals.get(key) ?? 0n) + BigInt(value))
    return { status: 200, body: event }
  }

  function route(method: string, path: string, form: Record<string, string>): Answer | null {
    if (method === 'POST' && path === '/v1/customers') return createCustomer(form)
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(path)
    if (customer && method === 'GET') return retrieveCustomer(decodeURIComponent(customer[1]!))
    if (customer && method === 'DELETE') return deleteCustomer(decodeURIComponent(customer[1]!))
    if (method === 'POST' && path === '/v1/checkout/sessions') return createSession(form)
    if (method === 'POST' && path === '/v1/billing/meter_events') return createMeterEvent(form)
    return null
  }

  /** Deterministic spread: call n fails when floor((n+1)·share) steps past floor(n·share). */
  function shouldFail(path: string): (FailurePlan & { mode: FailureMode }) | null {
    if (!failure || (failure.path && !path.startsWith(failure.path))) return null
    if (failure.count !== undefined && failure.failed >= failure.count) return null
    const share = failure.share ?? 1
    const n = failure.seen++
    if (Math.floor((n + 1) * share) <= Math.floor(n * share)) return null
    const modes = Array.isArray(failure.mode) ? failure.mode : [failure.mode]
    return { ...failure, mode: modes[failure.failed++ % modes.length]! }
  }

  function failureAnswer(mode: FailureMode): Answer | 'hang' {
    if (mode === 'hang') return 'hang'
    if (mode === 'rate_limit') {
      return stripeError(429, 'invalid_request_error', 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', { code: 'rate_limit' })
    }
    return stripeError(500, 'api_error', 'An unknown error occurred.')
  }

  const respond = (answer: Answer, headers: Record<string, string> = {}) =>
    Response.json(answer.body, { status: answer.status, headers: { 'request-id': randomId('req'), 'stripe-version': FAKE_STRIPE_API_VERSION, ...headers } })

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const method = request.method
    const path = url.pathname
    const text = method === 'GET' ? url.search.slice(1) : await request.text()
    const form = Object.fromEntries(new URLSearchParams(text))
    const idempotencyKey = method === 'POST' ? request.headers.get('idempotency-key') : null
    const record: RecordedStripeRequest = { method, path, form, idempotencyKey, outcome: 0, replayed: false }
    requests.push(record)
    const finish = (answer: Answer | 'hang', headers: Record<string, string> = {}): Response | Promise<Response> => {
      if (answer === 'hang') {
        record.outcome = 'hang'
        // Never answered while the fake runs; stop() releases it so the server can close.
        return new Promise((resolve) => hanging.add(() => resolve(respond(stripeError(503, 'api_error', 'The fake is shutting down.')))))
      }
      record.outcome = answer.status
      return respond(answer, headers)
    }

    const key = presentedKey(request)
    if (key !== secretKey) {
      return finish(
        stripeError(
          401,
          'invalid_request_error',
          key ? `Invalid API Key provided: ${masked(key)}` : 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').',
        ),
      )
    }
    const injected = shouldFail(path)
    if (injected && !injected.afterEffect) return finish(failureAnswer(injected.mode))

    const fingerprint = `${method} ${path} ${text}`
    const stored = idempotencyKey ? idempotent.get(idempotencyKey) : undefined
    if (stored && stored.fingerprint !== fingerprint) {
      return finish(
        stripeError(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`),
      )
    }
    if (stored) {
      record.replayed = true
      return injected ? finish(failureAnswer(injected.mode)) : finish(stored.answer, { 'idempotent-replayed': 'true' })
    }

    const answer = route(method, path, form) ?? stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`)
    // Like Stripe, only calls that ran are remembered; a refused parameter can be corrected and sent again with the same key.
    if (idempotencyKey && answer.status < 400) idempotent.set(idempotencyKey, { fingerprint, answer })
    return finish(injected ? failureAnswer(injected.mode) : answer)
  }

  const server: Server<undefined> = Bun.serve({ hostname: '127.0.0.1', port: 0, idleTimeout: 0, fetch: handle })

  return {
    url: `http://127.0.0.1:${server.port}`,
    secretKey,
    requests,
    customers,
    sessions,
    subscriptions,
    meterEvents,
    get duplicateMeterEvents() {
      return duplicateMeterEvents
    },
    meterTotal: (customerId, eventName) => totals.get(`${customerId}\u0000${eventName}`) ?? 0n,
    setFailure(plan) {
      failure = plan ? { ...plan, seen: 0, failed: 0 } : null
    },
    completeCheckout(sessionId) {
      const session = sessions.get(sessionId)
      if (!session) throw new Error(`fake stripe: no session ${sessionId}`)
      if (!session.customer) session.customer = (createCustomer({}).body as FakeCustomer).id
      const subscription: FakeSubscription = {
        id: randomId('sub'),
        object: 'subscription',
        created: seconds(),
        customer: session.customer,
        status: 'active',
        metadata: { ...session.subscription_metadata },
        items: {
          object: 'list',
          data: session.line_items.map((item) => ({ id: randomId('si'), object: 'subscription_item', price: { id: item.price, object: 'price' }, quantity: item.quantity })),
        },
        livemode: false,
      }
      subscriptions.set(subscription.id, subscription)
      Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: subscription.id, url: null })
      return { session: publicSession(session), subscription: structuredClone(subscription) }
    },
    async stop() {
      for (const release of hanging) release()
      hanging.clear()
      await server.stop(true)
    },
  }
}

export type PublicCheckoutSession = Omit<FakeCheckoutSession, 'line_items' | 'subscription_metadata'>

/** The session as Stripe serialises it, without the fake's bookkeeping fields. */
function publicSession(session: FakeCheckoutSession): PublicCheckoutSession {
  const { line_items: _items, subscription_metadata: _metadata, ...rest } = structuredClone(session)
  return rest
}

// ——— Webhooks ———

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
