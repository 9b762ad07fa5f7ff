// The fake's HTTP server: auth, failure injection, Idempotency-Key replay, request log, routing to resources (Connect too), and the FakeStripe handle.
import type { Server } from 'bun'
import { connectStore, type FakeAccount, type FakeAccountLink, type FakeTransfer, type TransferRefusal } from './connect'
import { checkoutStore, type FakeCheckoutSession, type FakeSubscription, type PublicCheckoutSession } from './checkout'
import { FAKE_STRIPE_API_VERSION, FAKE_STRIPE_SECRET_KEY, type Clock } from './constants'
import { customerStore, type FakeCustomer } from './customers'
import { failureAnswer, failureInjector, type FailurePlan } from './failures'
import { masked, presentedKey, randomId, stripeError, type Answer } from './form'
import { meterEventStore, type FakeMeterEvent } from './meter-events'
import { paymentIntentStore, type FakePaymentIntent } from './payment-intents'
import { deliver, stripeEvent } from './webhooks'

export interface RecordedStripeRequest {
  method: string
  path: string
  /** The decoded form body, flat as sent: `line_items[0][price]` → `price_…`. */
  form: Record<string, string>
  idempotencyKey: string | null
  /** The secret key the call presented (which of the accepted keys, or a wrong one). */
  apiKey: string | null
  /** The status the fake answered, or 'hang' for a call it never answered. */
  outcome: number | 'hang'
  /** True when the answer was the stored answer of an earlier call with the same Idempotency-Key. */
  replayed: boolean
}

export interface FakeStripe {
  url: string
  secretKey: string
  requests: RecordedStripeRequest[]
  customers: Map<string, FakeCustomer>
  sessions: Map<string, FakeCheckoutSession>
  subscriptions: Map<string, FakeSubscription>
  /** PaymentIntents by id, as they are now (answers were copies). */
  paymentIntents: Map<string, FakePaymentIntent>
  /** Accepted meter events, one per identifier (duplicates are not added). */
  meterEvents: FakeMeterEvent[]
  /** Meter events refused as duplicates of an identifier seen within 24 h. */
  duplicateMeterEvents: number
  /** Σ payload[value] of accepted events for one customer and event name (integers, exact). */
  meterTotal(customerId: string, eventName: string): bigint
  /** Connect: Express accounts, the account links made for them, and transfers (one per created transfer; replays add none). */
  accounts: Map<string, FakeAccount>
  accountLinks: FakeAccountLink[]
  transfers: Map<string, FakeTransfer>
  /** What Stripe does when the account holder finishes onboarding: details submitted, payouts and transfers enabled. */
  completeOnboarding(accountId: string): FakeAccount
  /** Every transfer is refused with this Stripe 400 from now on (null: transfers go through again). */
  refuseTransfers(refusal: TransferRefusal | null): void
  /** Fail a share of the calls from now on (null: stop failing). */
  setFailure(plan: FailurePlan | null): void
  /** What Stripe does when the payer finishes Checkout: a subscription (with subscription_data.metadata), the session completed. */
  completeCheckout(sessionId: string): { session: PublicCheckoutSession; subscription: FakeSubscription }
  /** Where confirmed PaymentIntents' events go from now on (see FakeStripeOptions.webhook); null: nowhere. */
  setWebhook(target: { url: string; secret: string } | null): void
  /** What Stripe does when the payer completes payment: the intent succeeded, amount_received = amount. Returns a copy for stripeEvent('payment_intent.succeeded', …). */
  succeedPaymentIntent(id: string): FakePaymentIntent
  stop(): Promise<void>
}

export interface FakeStripeOptions {
  secretKey?: string
  /** More keys the fake accepts (a test-mode key beside a live one); every call records which key it presented. */
  extraSecretKeys?: string[]
  /** The fake's clock in ms (meter-event windows, created stamps); Date.now by default. */
  now?: () => number
  /**
   * Publishable keys Stripe.js (or a page's stand-in for it) may use, as the browser does: `key=pk_…` and the
   * intent's `client_secret` in the form of `POST /v1/payment_intents/{id}/confirm`, answered with CORS headers.
   */
  publishableKeys?: string[]
  /** Where Stripe sends events: a confirmed PaymentIntent sends a signed payment_intent.succeeded there (not awaited, as Stripe's are). */
  webhook?: { url: string; secret: string }
}

export function startFakeStripe(options: FakeStripeOptions = {}): FakeStripe {
  const secretKey = options.secretKey ?? FAKE_STRIPE_SECRET_KEY
  const acceptedKeys = new Set([secretKey, ...(options.extraSecretKeys ?? [])])
  const publishableKeys = new Set(options.publishableKeys ?? [])
  const webhookDeliveries: Promise<unknown>[] = []
  let webhook = options.webhook ?? null
  const now = options.now ?? Date.now
  const clock: Clock = { now, seconds: () => Math.floor(now() / 1000) }
  const requests: RecordedStripeRequest[] = []
  const customers = customerStore(clock)
  const checkout = checkoutStore(clock, customers)
  const meter = meterEventStore(clock)
  const intents = paymentIntentStore(clock, customers)
  const connect = connectStore(clock)
  const failures = failureInjector()
  const idempotent = new Map<string, { fingerprint: string; answer: Answer }>()
  const hanging = new Set<() => void>()

  function route(method: string, path: string, form: Record<string, string>, idempotencyKey: string | null): Answer | null {
    if (method === 'POST' && path === '/v1/customers') return customers.create(form)
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(path)
    if (customer && method === 'GET') return customers.retrieve(decodeURIComponent(customer[1]!))
    if (customer && method === 'DELETE') return customers.remove(decodeURIComponent(customer[1]!))
    if (method === 'POST' && path === '/v1/checkout/sessions') return checkout.createSession(form)
    if (method === 'POST' && path === '/v1/billing/meter_events') return meter.create(form)
    if (method === 'POST' && path === '/v1/payment_intents') return intents.create(form)
    const intent = /^\/v1\/payment_intents\/([^/]+)(?:\/(confirm|cancel))?$/.exec(path)
    if (intent && method === 'GET' && !intent[2]) return intents.retrieve(decodeURIComponent(intent[1]!))
    if (intent && method === 'POST' && intent[2] === 'confirm') {
      const answer = intents.confirm(decodeURIComponent(intent[1]!), form)
      if (answer.status === 200 && webhook) {
        const event = stripeEvent('payment_intent.succeeded', answer.body as object)
        webhookDeliveries.push(deliver(webhook.url, event, webhook.secret).catch(() => undefined))
      }
      return answer
    }
    if (intent && method === 'POST' && intent[2] === 'cancel') return intents.cancel(decodeURIComponent(intent[1]!), form)
    if (method === 'POST' && path === '/v1/accounts') return connect.createAccount(form)
    const account = /^\/v1\/accounts\/([^/]+)$/.exec(path)
    if (account && method === 'GET') return connect.retrieveAccount(decodeURIComponent(account[1]!))
    if (method === 'POST' && path === '/v1/account_links') return connect.createAccountLink(form)
    if (method === 'POST' && path === '/v1/transfers') return connect.createTransfer(form, idempotencyKey)
    return null
  }

  const respond = (answer: Answer, headers: Record<string, string> = {}) =>
    Response.json(answer.body, {
      status: answer.status,
      headers: { 'request-id': randomId('req'), 'stripe-version': FAKE_STRIPE_API_VERSION, 'access-control-allow-origin': '*', ...headers },
    })

  /** Stripe.js's confirm from a page: a publishable key and the intent's own client secret stand for the secret key. */
  function browserConfirm(path: string, form: Record<string, string>): Answer | null {
    if (!form.key || !publishableKeys.has(form.key)) return null
    const intent = /^\/v1\/payment_intents\/([^/]+)\/confirm$/.exec(path)
    if (!intent) return stripeError(401, 'invalid_request_error', 'A publishable key can only confirm a PaymentIntent with its client secret.')
    const found = intents.paymentIntents.get(decodeURIComponent(intent[1]!))
    if (!found || form.client_secret !== found.client_secret) {
      return stripeError(400, 'invalid_request_error', `No such payment_intent: '${intent[1]}'`, { code: 'resource_missing', param: 'intent' })
    }
    return null
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const method = request.method
    const path = url.pathname
    const text = method === 'GET' ? url.search.slice(1) : await request.text()
    const form = Object.fromEntries(new URLSearchParams(text))
    const idempotencyKey = method === 'POST' ? request.headers.get('idempotency-key') : null
    if (method === 'OPTIONS') {
      return new Response(null, { status: 204, headers: { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type' } })
    }
    const fromPage = method === 'POST' && form.key !== undefined && publishableKeys.has(form.key)
    const key = fromPage ? form.key! : presentedKey(request)
    const record: RecordedStripeRequest = { method, path, form, idempotencyKey, apiKey: key, outcome: 0, replayed: false }
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

    if (fromPage) {
      const refused = browserConfirm(path, form)
      if (refused) return finish(refused)
    } else if (key === null || !acceptedKeys.has(key)) {
      return finish(
        stripeError(
          401,
          'invalid_request_error',
          key ? `Invalid API Key provided: ${masked(key)}` : 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').',
        ),
      )
    }
    const injected = failures.shouldFail(path)
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

    const answer = route(method, path, form, idempotencyKey) ?? stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`)
    // Like Stripe, only calls that ran are remembered; a refused parameter can be corrected and sent again with the same key.
    if (idempotencyKey && answer.status < 400) idempotent.set(idempotencyKey, { fingerprint, answer })
    return finish(injected ? failureAnswer(injected.mode) : answer)
  }

  const server: Server<undefined> = Bun.serve({ hostname: '127.0.0.1', port: 0, idleTimeout: 0, fetch: handle })

  return {
    url: `http://127.0.0.1:${server.port}`,
    secretKey,
    requests,
    customers: customers.customers,
    sessions: checkout.sessions,
    subscriptions: checkout.subscriptions,
    paymentIntents: intents.paymentIntents,
    meterEvents: meter.meterEvents,
    get duplicateMeterEvents() {
      return meter.duplicates()
    },
    meterTotal: meter.total,
    accounts: connect.accounts,
    accountLinks: connect.accountLinks,
    transfers: connect.transfers,
    completeOnboarding: connect.completeOnboarding,
    refuseTransfers: connect.refuseTransfers,
    setFailure: failures.set,
    setWebhook: (target) => {
      webhook = target
    },
    completeCheckout: checkout.completeCheckout,
    succeedPaymentIntent: intents.succeedPaymentIntent,
    async stop() {
      await Promise.all(webhookDeliveries)
      for (const release of hanging) release()
      hanging.clear()
      await server.stop(true)
    },
  }
}
