// The billing plugin end to end: checkout through the real SDK against the fake Stripe, signed webhooks, real Postgres.
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { findAccount, insertAccount, setStripeCustomer, setSubscriptionStatus } from '../../src/db/queries/accounts'
import { hasStripeEvent } from '../../src/db/queries/stripe-events'
import { errorResponse } from '../../src/errors'
import { frameworkError } from '../../src/lib/framework-errors'
import { createLogger } from '../../src/lib/logger'
import { createStripeClient } from '../../src/lib/stripe'
import type { authPlugin } from '../../src/modules/auth'
import { STATIC_ACCOUNT_ID, type Principal } from '../../src/modules/auth/service'
import { billingPlugin, type BillingDeps } from '../../src/modules/billing'
import { testDb, uniqueId } from '../helpers/db'
import { signStripeEvent, startFakeStripe, stripeEvent, stripePayload, webhookRequest, deliver, type StripeEventJson } from '../helpers/fake-stripe'
import { waitFor } from '../helpers/poll'
import { testPrincipal } from '../helpers/principals'

const WEBHOOK_SECRET = 'whsec_test_meterway_billing'
const PRICE_ID = 'price_pro_monthly'
const PUBLIC_BASE_URL = 'https://gateway.test'
const STATIC_KEY = 'mw_static_key'

const sql = await testDb()
const fake = startFakeStripe()
const stripe = createStripeClient({ secretKey: fake.secretKey, apiBase: fake.url, webhookSecret: '', proPriceId: '' }, { maxNetworkRetries: 0 })
const principal = (accountId: string, kind: Principal['kind']): Principal => testPrincipal(accountId, { kind, subscriptionStatus: 'none' })
const principals = new Map<string, Principal>([[STATIC_KEY, principal(STATIC_ACCOUNT_ID, 'static')]])
const authenticate: Parameters<typeof authPlugin>[0] = (apiKey: string) => principals.get(apiKey) ?? null
const changed: string[] = []

function billingApp(overrides: Partial<BillingDeps> = {}) {
  return new Elysia()
    .onError(({ code, error, request, path }) => errorResponse(frameworkError(code, error, request.method, path)))
    .use(
      billingPlugin({
        sql,
        stripe,
        config: { proPriceId: PRICE_ID, webhookSecret: WEBHOOK_SECRET, publicBaseUrl: PUBLIC_BASE_URL },
        authenticate,
        onAccountChanged: (accountId) => {
          changed.push(accountId)
        },
        logger: createLogger('silent'),
        maxBodyBytes: 1024 * 1024,
        ...overrides,
      }),
    )
}

const app = billingApp().listen({ port: 0, hostname: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server!.port}`
const webhookUrl = `${base}/stripe/webhook`

afterAll(async () => {
  await app.stop(true)
  await fake.stop()
  await sql.end()
})

beforeEach(() => {
  changed.length = 0
})

/** A fresh account and an API key that authenticates as it. */
async function newAgent(): Promise<{ id: string; key: string }> {
  const id = uniqueId('agent')
  expect(await insertAccount(sql, { id, name: `Agent ${id}`, description: 'billing test', capabilities: [] })).toBe(true)
  const key = `mw_test_${id}`
  principals.set(key, principal(id, 'agent'))
  return { id, key }
}

function checkout(key: string | null, body: unknown = { plan: 'pro' }, target = base): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (key) headers['x-api-key'] = key
  return fetch(`${target}/subscriptions/checkout`, { method: 'POST', headers, body: JSON.stringify(body) })
}

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null }
}

const customerRequestsFor = (agentId: string) =>
  fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers' && r.form['metadata[agent_id]'] === agentId)

/** A checkout the payer completed: what Stripe holds afterwards, for building realistic events. */
async function paidCheckout(agent: { id: string; key: string }) {
  const response = await checkout(agent.key)
  expect(response.status).toBe(200)
  const { session_id } = (await response.json()) as { session_id: string }
  return fake.completeCheckout(session_id)
}

describe('POST /subscriptions/checkout', () => {
  test('creates the Stripe customer once and returns the Checkout URL', async () => {
    const agent = await newAgent()
    const first = await checkout(agent.key)
    expect(first.status).toBe(200)
    const body = (await first.json()) as { checkout_url: string; session_id: string }
    expect(body.session_id).toMatch(/^cs_test_/)
    expect(body.checkout_url).toBe(`https://checkout.stripe.test/c/pay/${body.session_id}`)

    const second = await checkout(agent.key)
    expect(second.status).toBe(200)
    expect(((await second.json()) as { session_id: string }).session_id).not.toBe(body.session_id)

    expect(customerRequestsFor(agent.id)).toHaveLength(1)
    const account = await findAccount(sql, agent.id)
    const customer = fake.customers.get(account!.stripe_customer_id!)
    expect(customer?.metadata).toEqual({ agent_id: agent.id })
    expect(customer?.name).toBe(`Agent ${agent.id}`)
    expect(fake.sessions.get(body.session_id)?.customer).toBe(customer!.id)
  })

  test('sends Stripe a subscription-mode session for the Pro price, tagged with the agent', async () => {
    const agent = await newAgent()
    const { session_id } = (await (await checkout(agent.key)).json()) as { session_id: string }
    const request = fake.requests.find((r) => r.path === '/v1/checkout/sessions' && r.form.client_reference_id === agent.id)!
    const account = await findAccount(sql, agent.id)
    expect(request.form).toEqual({
      mode: 'subscription',
      'line_items[0][price]': PRICE_ID,
      'line_items[0][quantity]': '1',
      customer: account!.stripe_customer_id!,
      client_reference_id: agent.id,
      success_url: `${PUBLIC_BASE_URL}/subscriptions/checkout/success?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${PUBLIC_BASE_URL}/subscriptions/checkout/cancel`,
      'metadata[agent_id]': agent.id,
      'subscription_data[metadata][agent_id]': agent.id,
    })
    expect(fake.sessions.get(session_id)?.subscription_metadata).toEqual({ agent_id: agent.id })
  })

  test('concurrent first checkouts end with one customer, used by every session', async () => {
    const agent = await newAgent()
    const responses = await Promise.all([checkout(agent.key), checkout(agent.key), checkout(agent.key)])
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { session_id: string }[]
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200])
    const account = await findAccount(sql, agent.id)
    const live = [...fake.customers.values()].filter((c) => c.metadata.agent_id === agent.id && !c.deleted)
    expect(live.map((c) => c.id)).toEqual([account!.stripe_customer_id!])
    for (const { session_id } of bodies) expect(fake.sessions.get(session_id)?.customer).toBe(account!.stripe_customer_id)
  })

  test('when another call records its customer first, that one is used and ours is deleted', async () => {
    const agent = await newAgent()
    const winner = await stripe!.customers.create({ metadata: { agent_id: agent.id } })
    // The real client, except that another request's customer lands in the database while ours is being created.
    const racing = Object.create(stripe) as NonNullable<typeof stripe>
    Object.defineProperty(racing, 'customers', {
      value: {
        create: async (...args: Parameters<NonNullable<typeof stripe>['customers']['create']>) => {
          const created = await stripe!.customers.create(...args)
          await setStripeCustomer(sql, agent.id, winner.id)
          return created
        },
        del: (id: string) => stripe!.customers.del(id),
      },
    })
    const response = await billingApp({ stripe: racing }).handle(
      new Request('http://local/subscriptions/checkout', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': agent.key },
        body: JSON.stringify({ plan: 'pro' }),
      }),
    )
    expect(response.status).toBe(200)
    const { session_id } = (await response.json()) as { session_id: string }
    expect(fake.sessions.get(session_id)?.customer).toBe(winner.id)
    const loser = [...fake.customers.values()].find((c) => c.metadata.agent_id === agent.id && c.id !== winner.id)!
    // The losing customer is deleted in the background, after the answer.
    await waitFor(() => loser.deleted, 5_000, 'the losing customer to be deleted')
    expect((await findAccount(sql, agent.id))?.stripe_customer_id).toBe(winner.id)
  })

  test('a bad body is a 400 naming the field', async () => {
    const agent = await newAgent()
    const wrong = await checkout(agent.key, { plan: 'enterprise' })
    expect(wrong.status).toBe(400)
    expect(((await wrong.json()) as ErrorJson).error.param).toBe('plan')
    const absent = await checkout(agent.key, {})
    expect(absent.status).toBe(400)
    const error = ((await absent.json()) as ErrorJson).error
    expect(error.param).toBe('plan')
    expect(error.code).toBe('missing_required_parameter')
    expect(customerRequestsFor(agent.id)).toHaveLength(0)
  })

  test('needs an API key, checked before the body is read', async () => {
    for (const body of [{ plan: 'pro' }, { plan: 'enterprise' }]) {
      const response = await checkout(null, body)
      expect(response.status).toBe(401)
      expect(((await response.json()) as ErrorJson).error.code).toBe('invalid_api_key')
    }
    expect((await checkout('mw_test_unknown_key')).status).toBe(401)
  })

  test('a body that is not JSON, or far too large, is refused', async () => {
    const agent = await newAgent()
    const notJson = await fetch(`${base}/subscriptions/checkout`, { method: 'POST', headers: { 'x-api-key': agent.key }, body: 'plan=pro' })
    expect(notJson.status).toBe(400)
    expect(((await notJson.json()) as ErrorJson).error.code).toBe('invalid_json')
    const huge = await checkout(agent.key, { plan: 'pro', padding: 'x'.repeat(10_000) })
    expect(huge.status).toBe(413)
  })

  test('static single-tenant keys have no subscription', async () => {
    const response = await checkout(STATIC_KEY)
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.message).toBe('static keys have no subscription')
  })

  test('503 billing_not_configured without a Stripe client or a price', async () => {
    const agent = await newAgent()
    for (const overrides of [{ stripe: null }, { config: { proPriceId: '', webhookSecret: WEBHOOK_SECRET, publicBaseUrl: PUBLIC_BASE_URL } }]) {
      const response = await billingApp(overrides).handle(
        new Request('http://local/subscriptions/checkout', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${agent.key}` },
          body: JSON.stringify({ plan: 'pro' }),
        }),
      )
      expect(response.status).toBe(503)
      expect(((await response.json()) as ErrorJson).error.code).toBe('billing_not_configured')
    }
  })

  test('Stripe failures are a 502', async () => {
    const agent = await newAgent()
    fake.setFailure({ mode: 'rate_limit', path: '/v1/checkout/sessions' })
    try {
      const response = await checkout(agent.key)
      expect(response.status).toBe(502)
      const error = ((await response.json()) as ErrorJson).error
      expect(error.code).toBe('stripe_error')
      expect(error.message).not.toContain(fake.secretKey)
    } finally {
      fake.setFailure(null)
    }
    // A Stripe that refuses our key is our misconfiguration, not the caller's: also 502, and the key is not echoed.
    const wrongKey = createStripeClient({ secretKey: 'sk_test_wrong_key_000000', apiBase: fake.url, webhookSecret: '', proPriceId: '' })
    const response = await billingApp({ stripe: wrongKey }).handle(
      new Request('http://local/subscriptions/checkout', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': agent.key },
        body: JSON.stringify({ plan: 'pro' }),
      }),
    )
    expect(response.status).toBe(502)
    expect(await response.text()).not.toContain('sk_test_wrong_key')
  })

  test('an account with a subscription in force cannot start a second one', async () => {
    const agent = await newAgent()
    await setSubscriptionStatus(sql, agent.id, 'active', 'sub_existing')
    const response = await checkout(agent.key)
    expect(response.status).toBe(409)
    expect(((await response.json()) as ErrorJson).error.code).toBe('subscription_exists')
  })

  test('GET /subscriptions reports the status', async () => {
    const agent = await newAgent()
    const before = await fetch(`${base}/subscriptions`, { headers: { authorization: `Bearer ${agent.key}` } })
    expect(await before.json()).toEqual({ plan: 'pro', status: 'none', active: false })
    await setSubscriptionStatus(sql, agent.id, 'trialing')
    const after = await fetch(`${base}/subscriptions`, { headers: { authorization: `Bearer ${agent.key}` } })
    expect(await after.json()).toEqual({ plan: 'pro', status: 'trialing', active: true })
  })
})

describe('POST /stripe/webhook', () => {
  const post = (request: Request) => fetch(request)

  test('checkout.session.completed activates the account and drops its cached principal', async () => {
    const agent = await newAgent()
    const { session, subscription } = await paidCheckout(agent)
    const response = await deliver(webhookUrl, stripeEvent('checkout.session.completed', session), WEBHOOK_SECRET)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ received: true })
    const account = await findAccount(sql, agent.id)
    expect(account?.subscription_status).toBe('active')
    expect(account?.stripe_subscription_id).toBe(subscription.id)
    expect(changed).toEqual([agent.id])
  })

  test('a replayed event is acknowledged as a duplicate and applied no second time', async () => {
    const agent = await newAgent()
    const { session } = await paidCheckout(agent)
    const event = stripeEvent('checkout.session.completed', session)
    expect((await deliver(webhookUrl, event, WEBHOOK_SECRET)).status).toBe(200)
    // Something later moved the account on; replaying the old event must not move it back.
    await setSubscriptionStatus(sql, agent.id, 'past_due')
    const replay = await deliver(webhookUrl, event, WEBHOOK_SECRET)
    expect(replay.status).toBe(200)
    expect(await replay.json()).toEqual({ received: true, duplicate: true })
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('past_due')
    expect(changed).toEqual([agent.id])
  })

  test('concurrent deliveries of one event apply it once', async () => {
    const agent = await newAgent()
    const { session } = await paidCheckout(agent)
    const event = stripeEvent('checkout.session.completed', session)
    const responses = await Promise.all([1, 2, 3, 4].map(() => deliver(webhookUrl, event, WEBHOOK_SECRET)))
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { duplicate?: boolean }[]
    expect(responses.every((r) => r.status === 200)).toBe(true)
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1)
    expect(changed).toEqual([agent.id])
  })

  describe('refuses what Stripe did not sign, with no effect', () => {
    async function expectRefused(response: Response, event: StripeEventJson, agentId: string) {
      expect(response.status).toBe(400)
      expect(((await response.json()) as ErrorJson).error.code).toBe('invalid_signature')
      expect((await findAccount(sql, agentId))?.subscription_status).toBe('none')
      expect(await hasStripeEvent(sql, event.id)).toBe(false)
      expect(changed).toEqual([])
    }

    test('a tampered payload', async () => {
      const agent = await newAgent()
      const { session } = await paidCheckout(agent)
      const event = stripeEvent('checkout.session.completed', session)
      const signature = signStripeEvent(stripePayload(event), WEBHOOK_SECRET)
      const tampered = stripePayload(event).replace('"livemode": false', '"livemode": true')
      await expectRefused(await post(webhookRequest(webhookUrl, event, WEBHOOK_SECRET, { payload: tampered, signature })), event, agent.id)
    })

    test('a payload re-serialised (the bytes differ, the JSON does not)', async () => {
      const agent = await newAgent()
      const { session } = await paidCheckout(agent)
      const event = stripeEvent('checkout.session.completed', session)
      const signature = signStripeEvent(stripePayload(event), WEBHOOK_SECRET)
      await expectRefused(await post(webhookRequest(webhookUrl, event, WEBHOOK_SECRET, { payload: JSON.stringify(event), signature })), event, agent.id)
    })

    test('a stale signature (older than 300 s), which a fresh signature of the same event then passes', async () => {
      const agent = await newAgent()
      const { session } = await paidCheckout(agent)
      const event = stripeEvent('checkout.session.completed', session)
      const stale = Math.floor(Date.now() / 1000) - 301
      await expectRefused(await post(webhookRequest(webhookUrl, event, WEBHOOK_SECRET, { timestamp: stale })), event, agent.id)
      expect((await deliver(webhookUrl, event, WEBHOOK_SECRET)).status).toBe(200)
      expect((await findAccount(sql, agent.id))?.subscription_status).toBe('active')
    })

    test('no signature, or one made with another secret', async () => {
      const agent = await newAgent()
      const { session } = await paidCheckout(agent)
      const event = stripeEvent('checkout.session.completed', session)
      await expectRefused(await post(webhookRequest(webhookUrl, event, WEBHOOK_SECRET, { signature: null })), event, agent.id)
      await expectRefused(await post(webhookRequest(webhookUrl, event, 'whsec_someone_else')), event, agent.id)
    })
  })

  test('accepts a header whose second v1 signature is the right one (secret rolling), ignoring other schemes', async () => {
    const agent = await newAgent()
    const { session } = await paidCheckout(agent)
    const event = stripeEvent('checkout.session.completed', session)
    const payload = stripePayload(event)
    const timestamp = Math.floor(Date.now() / 1000)
    const right = signStripeEvent(payload, WEBHOOK_SECRET, timestamp).split(',v1=')[1]
    const wrong = signStripeEvent(payload, 'whsec_old_secret', timestamp).split(',v1=')[1]
    const signature = `t=${timestamp},v1=${wrong},v1=${right},v0=${'0'.repeat(64)}`
    const response = await post(webhookRequest(webhookUrl, event, WEBHOOK_SECRET, { signature }))
    expect(response.status).toBe(200)
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('active')
  })

  test('customer.subscription.deleted cancels the account', async () => {
    const agent = await newAgent()
    const { session, subscription } = await paidCheckout(agent)
    await deliver(webhookUrl, stripeEvent('checkout.session.completed', session), WEBHOOK_SECRET)
    const response = await deliver(webhookUrl, stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }), WEBHOOK_SECRET)
    expect(response.status).toBe(200)
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('canceled')
    expect(changed).toEqual([agent.id, agent.id])
  })

  test('customer.subscription.updated finds the account by customer when the metadata is missing', async () => {
    const agent = await newAgent()
    const { session, subscription } = await paidCheckout(agent)
    await deliver(webhookUrl, stripeEvent('checkout.session.completed', session), WEBHOOK_SECRET)
    const bare = { ...subscription, metadata: {}, status: 'past_due' }
    expect((await deliver(webhookUrl, stripeEvent('customer.subscription.updated', bare), WEBHOOK_SECRET)).status).toBe(200)
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('past_due')
  })

  test('events arriving out of order do not undo a later state', async () => {
    const agent = await newAgent()
    const { session, subscription } = await paidCheckout(agent)
    const created = stripeEvent('customer.subscription.created', { ...subscription, status: 'incomplete' })
    const completed = stripeEvent('checkout.session.completed', session)
    const deleted = stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' })
    const updated = stripeEvent('customer.subscription.updated', { ...subscription, status: 'active' })
    await deliver(webhookUrl, completed, WEBHOOK_SECRET)
    await deliver(webhookUrl, created, WEBHOOK_SECRET) // late: incomplete is only ever a first state
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('active')
    await deliver(webhookUrl, deleted, WEBHOOK_SECRET)
    await deliver(webhookUrl, updated, WEBHOOK_SECRET) // late: Stripe never revives a canceled subscription
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('canceled')
    expect(await hasStripeEvent(sql, updated.id)).toBe(true)
  })

  test('checkout.session.completed records the customer when the account had none', async () => {
    const agent = await newAgent()
    const event = stripeEvent('checkout.session.completed', {
      id: uniqueId('cs_test'),
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: agent.id,
      customer: uniqueId('cus'),
      subscription: uniqueId('sub'),
      metadata: { agent_id: agent.id },
    })
    expect((await deliver(webhookUrl, event, WEBHOOK_SECRET)).status).toBe(200)
    const account = await findAccount(sql, agent.id)
    expect(account?.stripe_customer_id).toBe(event.data.object.customer as string)
    expect(account?.subscription_status).toBe('active')
  })

  test('unknown event types and unknown accounts are acknowledged and recorded', async () => {
    const other = stripeEvent('invoice.paid', { id: 'in_123', object: 'invoice', customer: 'cus_nobody' })
    const response = await deliver(webhookUrl, other, WEBHOOK_SECRET)
    expect(response.status).toBe(200)
    expect(await hasStripeEvent(sql, other.id)).toBe(true)
    const stranger = stripeEvent('customer.subscription.updated', { id: 'sub_x', object: 'subscription', customer: 'cus_nobody', status: 'active', metadata: { agent_id: 'agent-nobody' } })
    expect((await deliver(webhookUrl, stranger, WEBHOOK_SECRET)).status).toBe(200)
    expect(await hasStripeEvent(sql, stranger.id)).toBe(true)
    expect(changed).toEqual([])
  })

  test('a signed body that is not a Stripe event is a 400', async () => {
    const payload = '{"hello": "world"}'
    const response = await post(
      new Request(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signStripeEvent(payload, WEBHOOK_SECRET) }, body: payload }),
    )
    expect(response.status).toBe(400)
    expect(((await response.json()) as ErrorJson).error.code).toBe('invalid_payload')
  })

  test('503 billing_not_configured without a webhook secret', async () => {
    const event = stripeEvent('invoice.paid', { id: 'in_1', object: 'invoice' })
    const response = await billingApp({ config: { proPriceId: PRICE_ID, webhookSecret: '', publicBaseUrl: PUBLIC_BASE_URL } }).handle(
      webhookRequest('http://local/stripe/webhook', event, WEBHOOK_SECRET),
    )
    expect(response.status).toBe(503)
    expect(((await response.json()) as ErrorJson).error.code).toBe('billing_not_configured')
  })

  test('a failing cache invalidation does not fail the committed event', async () => {
    const agent = await newAgent()
    const { session } = await paidCheckout(agent)
    const failing = billingApp({ onAccountChanged: async () => Promise.reject(new Error('redis down')) })
    const response = await failing.handle(webhookRequest('http://local/stripe/webhook', stripeEvent('checkout.session.completed', session), WEBHOOK_SECRET))
    expect(response.status).toBe(200)
    expect((await findAccount(sql, agent.id))?.subscription_status).toBe('active')
  })

  test('needs no API key (Stripe signs instead)', async () => {
    const event = stripeEvent('invoice.paid', { id: 'in_2', object: 'invoice' })
    const response = await billingApp().handle(webhookRequest('http://local/stripe/webhook', event, WEBHOOK_SECRET))
    expect(response.status).toBe(200)
  })
})
