// The fake Stripe speaks the real wire format: exercised through the official SDK (meter events, customers, auth, failures).
import { afterAll, beforeEach, describe, expect, test } from 'bun:test'
import Stripe from 'stripe'
import { createStripeClient } from '../../src/lib/stripe'
import { startFakeStripe } from '../helpers/fake-stripe'

const fake = startFakeStripe()
const settings = { secretKey: fake.secretKey, apiBase: fake.url, webhookSecret: '', proPriceId: '' }
const stripe = createStripeClient(settings)!
const EVENT = 'meterway_usage_nano_usd'
const nowSeconds = () => Math.floor(Date.now() / 1000)

afterAll(() => fake.stop())
beforeEach(() => fake.setFailure(null))

async function stripeErrorOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error
    throw error
  }
  throw new Error('expected a Stripe error')
}

const newCustomer = async () => (await stripe.customers.create({ metadata: { agent_id: 'meter-test' } })).id

describe('createStripeClient', () => {
  test('is null without a secret key', () => {
    expect(createStripeClient({ ...settings, secretKey: '' })).toBeNull()
  })

  test('refuses an API base with a path (the SDK always adds /v1/)', () => {
    expect(() => createStripeClient({ ...settings, apiBase: `${fake.url}/stripe` })).toThrow('STRIPE_API_BASE')
  })

  test('talks to the configured base: customers round-trip', async () => {
    const created = await stripe.customers.create({ email: 'agent@example.test', metadata: { agent_id: 'a1' } })
    expect(created.id).toMatch(/^cus_/)
    const fetched = await stripe.customers.retrieve(created.id)
    expect(fetched).toMatchObject({ id: created.id, object: 'customer', email: 'agent@example.test', metadata: { agent_id: 'a1' } })
    const missing = await stripeErrorOf(stripe.customers.retrieve('cus_missing'))
    expect(missing.statusCode).toBe(404)
    expect(missing.code).toBe('resource_missing')
  })

  test('a wrong secret key is a StripeAuthenticationError that does not echo the key', async () => {
    const wrong = createStripeClient({ ...settings, secretKey: 'sk_test_not_the_right_key_123' })!
    const error = await stripeErrorOf(wrong.customers.create({}))
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError)
    expect(error.statusCode).toBe(401)
    expect(error.message).not.toContain('not_the_right_key')
  })
})

describe('meter events', () => {
  test('are accepted in Stripe shape and summed per customer and event name', async () => {
    const customer = await newCustomer()
    const event = await stripe.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value: '1500' }, identifier: `${customer}-a` })
    expect(event).toMatchObject({ object: 'billing.meter_event', event_name: EVENT, identifier: `${customer}-a`, payload: { stripe_customer_id: customer, value: '1500' } })
    await stripe.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value: '500' } })
    await stripe.billing.meterEvents.create({ event_name: 'other_meter', payload: { stripe_customer_id: customer, value: '7' } })
    expect(fake.meterTotal(customer, EVENT)).toBe(2000n)
    expect(fake.meterTotal(customer, 'other_meter')).toBe(7n)
  })

  test('a duplicate identifier is accepted once and counted once', async () => {
    const customer = await newCustomer()
    const identifier = `batch-${customer}-1`
    const duplicatesBefore = fake.duplicateMeterEvents
    const params = { event_name: EVENT, payload: { stripe_customer_id: customer, value: '40' }, identifier }
    const first = await stripe.billing.meterEvents.create(params)
    const second = await stripe.billing.meterEvents.create(params) // the SDK sends a new Idempotency-Key: only the identifier dedupes
    expect(second.identifier).toBe(first.identifier)
    expect(fake.meterTotal(customer, EVENT)).toBe(40n)
    expect(fake.duplicateMeterEvents).toBe(duplicatesBefore + 1)
    expect(fake.meterEvents.filter((e) => e.identifier === identifier)).toHaveLength(1)
  })

  test('timestamps older than 35 days or more than 5 minutes ahead are refused with a 400', async () => {
    const customer = await newCustomer()
    const at = (timestamp: number) => stripe.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value: '1' }, timestamp })
    const old = await stripeErrorOf(at(nowSeconds() - 36 * 86_400))
    expect(old).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
    expect([old.statusCode, old.code, old.param]).toEqual([400, 'timestamp_too_far_in_past', 'timestamp'])
    const ahead = await stripeErrorOf(at(nowSeconds() + 600))
    expect([ahead.statusCode, ahead.code]).toEqual([400, 'timestamp_in_future'])
    await at(nowSeconds() - 34 * 86_400)
    await at(nowSeconds() + 120)
    expect(fake.meterTotal(customer, EVENT)).toBe(2n)
  })

  test('missing fields and non-integer values are refused', async () => {
    const customer = await newCustomer()
    const noName = await stripeErrorOf(stripe.billing.meterEvents.create({ event_name: '', payload: { stripe_customer_id: customer, value: '1' } }))
    expect([noName.statusCode, noName.code, noName.param]).toEqual([400, 'parameter_missing', 'event_name'])
    const decimal = await stripeErrorOf(stripe.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value: '1.5' } }))
    expect(decimal.statusCode).toBe(400)
    expect(fake.meterTotal(customer, EVENT)).toBe(0n)
  })

  test('identifiers are forgotten after 24 h', async () => {
    let clock = Date.now()
    const timed = startFakeStripe({ now: () => clock })
    try {
      const client = createStripeClient({ ...settings, apiBase: timed.url })!
      const send = () => client.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: 'cus_clock', value: '3' }, identifier: 'same-id', timestamp: Math.floor(clock / 1000) })
      await send()
      clock += 23 * 3_600_000
      await send()
      expect(timed.meterTotal('cus_clock', EVENT)).toBe(3n)
      clock += 2 * 3_600_000
      await send()
      expect(timed.meterTotal('cus_clock', EVENT)).toBe(6n)
    } finally {
      await timed.stop()
    }
  })
})

describe('Idempotency-Key', () => {
  test('the same key replays the first answer and applies nothing twice', async () => {
    const customer = await newCustomer()
    const params = { event_name: EVENT, payload: { stripe_customer_id: customer, value: '11' } } // no identifier: only the key dedupes
    const first = await stripe.billing.meterEvents.create(params, { idempotencyKey: `report-${customer}` })
    const again = await stripe.billing.meterEvents.create(params, { idempotencyKey: `report-${customer}` })
    expect(again).toMatchObject({ identifier: first.identifier, timestamp: first.timestamp })
    expect(fake.meterTotal(customer, EVENT)).toBe(11n)
    expect(fake.requests.filter((r) => r.idempotencyKey === `report-${customer}`).map((r) => r.replayed)).toEqual([false, true])
  })

  test('the same key with other parameters is an idempotency error', async () => {
    const customer = await newCustomer()
    await stripe.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value: '1' } }, { idempotencyKey: `k-${customer}` })
    const error = await stripeErrorOf(
      stripe.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value: '2' } }, { idempotencyKey: `k-${customer}` }),
    )
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError)
    expect(fake.meterTotal(customer, EVENT)).toBe(1n)
  })
})

describe('injected failures', () => {
  const report = (client: Stripe, customer: string, value = '5') =>
    client.billing.meterEvents.create({ event_name: EVENT, payload: { stripe_customer_id: customer, value }, identifier: `inj-${customer}-${value}` })

  test('429 is a StripeRateLimitError (the SDK does not retry it) and changes nothing', async () => {
    const customer = await newCustomer()
    fake.setFailure({ mode: 'rate_limit', path: '/v1/billing/meter_events' })
    const error = await stripeErrorOf(report(stripe, customer))
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError)
    expect(fake.meterTotal(customer, EVENT)).toBe(0n)
  })

  test('a 500 before the effect is retried by the SDK with the same key and lands once', async () => {
    const customer = await newCustomer()
    fake.setFailure({ mode: 'server_error', count: 1, path: '/v1/billing/meter_events' })
    await report(stripe, customer)
    const calls = fake.requests.filter((r) => r.form['payload[stripe_customer_id]'] === customer)
    expect(calls.map((r) => r.outcome)).toEqual([500, 200])
    expect(calls[0]!.idempotencyKey).toBe(calls[1]!.idempotencyKey)
    expect(fake.meterTotal(customer, EVENT)).toBe(5n)
  })

  test('a lost answer (applied, then 500) is replayed on retry, not applied again', async () => {
    const customer = await newCustomer()
    fake.setFailure({ mode: 'server_error', count: 1, afterEffect: true, path: '/v1/billing/meter_events' })
    await report(stripe, customer)
    const calls = fake.requests.filter((r) => r.form['payload[stripe_customer_id]'] === customer)
    expect(calls.map((r) => [r.outcome, r.replayed])).toEqual([[500, false], [200, true]])
    expect(fake.meterTotal(customer, EVENT)).toBe(5n)
  })

  test('a hang runs into the client timeout; the retry after an applied hang is a replay', async () => {
    const customer = await newCustomer()
    const impatient = createStripeClient(settings, { timeout: 200, maxNetworkRetries: 1 })!
    fake.setFailure({ mode: 'hang', count: 1, afterEffect: true, path: '/v1/billing/meter_events' })
    await report(impatient, customer)
    const calls = fake.requests.filter((r) => r.form['payload[stripe_customer_id]'] === customer)
    expect(calls.map((r) => r.outcome)).toEqual(['hang', 200])
    expect(fake.meterTotal(customer, EVENT)).toBe(5n)

    fake.setFailure({ mode: 'hang', path: '/v1/billing/meter_events' })
    const error = await stripeErrorOf(report(createStripeClient(settings, { timeout: 200, maxNetworkRetries: 0 })!, customer, '6'))
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError)
    expect(fake.meterTotal(customer, EVENT)).toBe(5n)
  })

  test('a share fails evenly: 0.5 fails every second call', async () => {
    const customer = await newCustomer()
    const noRetry = createStripeClient(settings, { maxNetworkRetries: 0 })!
    fake.setFailure({ mode: 'rate_limit', share: 0.5, path: '/v1/billing/meter_events' })
    const outcomes: string[] = []
    for (const value of ['1', '2', '3', '4']) {
      outcomes.push(await report(noRetry, customer, value).then(() => 'ok', () => 'failed'))
    }
    expect(outcomes).toEqual(['ok', 'failed', 'ok', 'failed'])
    expect(fake.meterTotal(customer, EVENT)).toBe(4n)
  })
})
