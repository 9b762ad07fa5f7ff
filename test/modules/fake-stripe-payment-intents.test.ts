// PaymentIntents on the fake Stripe, exercised through the official SDK: lifecycle, idempotency, validation and state errors.
import { afterAll, describe, expect, test } from 'bun:test'
import Stripe from 'stripe'
import { createStripeClient } from '../../src/lib/stripe'
import { startFakeStripe, stripeEvent } from '../helpers/fake-stripe'

const fake = startFakeStripe()
const settings = { secretKey: fake.secretKey, apiBase: fake.url, webhookSecret: '', proPriceId: '' }
const stripe = createStripeClient(settings, { maxNetworkRetries: 0 })!

afterAll(() => fake.stop())

async function stripeErrorOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error
    throw error
  }
  throw new Error('expected a Stripe error')
}

const newIntent = (params: Partial<Stripe.PaymentIntentCreateParams> = {}) => stripe.paymentIntents.create({ amount: 2500, currency: 'usd', ...params })

describe('payment intents', () => {
  test('create → retrieve → confirm → succeeded', async () => {
    const customer = await stripe.customers.create({ email: 'payer@example.test' })
    const created = await newIntent({ customer: customer.id, description: 'top-up', metadata: { agent_id: 'a1' }, automatic_payment_methods: { enabled: true } })
    expect(created.id).toMatch(/^pi_/)
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_`))
    expect(created).toMatchObject({
      object: 'payment_intent',
      amount: 2500,
      amount_received: 0,
      currency: 'usd',
      customer: customer.id,
      description: 'top-up',
      metadata: { agent_id: 'a1' },
      status: 'requires_payment_method',
      livemode: false,
    })
    expect(typeof created.created).toBe('number')

    const fetched = await stripe.paymentIntents.retrieve(created.id)
    expect(fetched).toMatchObject({ id: created.id, status: 'requires_payment_method', amount: 2500 })

    const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_visa' })
    expect(confirmed).toMatchObject({ id: created.id, status: 'succeeded', amount_received: 2500, payment_method: 'pm_card_visa' })
    expect((await stripe.paymentIntents.retrieve(created.id)).status).toBe('succeeded')
    expect(fake.paymentIntents.get(created.id)?.status).toBe('succeeded')
  })

  test('the same Idempotency-Key returns the same intent, created once', async () => {
    const key = `pi-key-${crypto.randomUUID()}`
    const sizeBefore = fake.paymentIntents.size
    const first = await stripe.paymentIntents.create({ amount: 700, currency: 'eur' }, { idempotencyKey: key })
    const second = await stripe.paymentIntents.create({ amount: 700, currency: 'eur' }, { idempotencyKey: key })
    expect(second.id).toBe(first.id)
    expect(second.client_secret).toBe(first.client_secret)
    expect(fake.paymentIntents.size).toBe(sizeBefore + 1)
    const other = await stripe.paymentIntents.create({ amount: 700, currency: 'eur' }) // a fresh key: a new intent
    expect(other.id).not.toBe(first.id)
    expect(fake.requests.filter((r) => r.idempotencyKey === key).map((r) => r.replayed)).toEqual([false, true])
  })

  test('invalid or missing amount and currency are StripeInvalidRequestErrors naming the param', async () => {
    for (const amount of [0, -5, 12.5]) {
      const error = await stripeErrorOf(newIntent({ amount }))
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
      expect(error.statusCode).toBe(400)
      expect(error.param).toBe('amount')
    }
    const noAmount = await stripeErrorOf(stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams))
    expect(noAmount).toMatchObject({ param: 'amount', code: 'parameter_missing' })
    const noCurrency = await stripeErrorOf(stripe.paymentIntents.create({ amount: 100 } as Stripe.PaymentIntentCreateParams))
    expect(noCurrency).toMatchObject({ param: 'currency', code: 'parameter_missing' })
    const badCustomer = await stripeErrorOf(newIntent({ customer: 'cus_missing' }))
    expect(badCustomer).toMatchObject({ param: 'customer', code: 'resource_missing' })
    const unknown = await stripeErrorOf(stripe.paymentIntents.retrieve('pi_missing'))
    expect(unknown).toMatchObject({ statusCode: 404, code: 'resource_missing' })
  })

  test('confirming a succeeded intent again is payment_intent_unexpected_state', async () => {
    const intent = await newIntent()
    await stripe.paymentIntents.confirm(intent.id)
    const error = await stripeErrorOf(stripe.paymentIntents.confirm(intent.id))
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
    expect(error.statusCode).toBe(400)
    expect(error.code).toBe('payment_intent_unexpected_state')
    expect(error.payment_intent?.id).toBe(intent.id)
    expect(fake.paymentIntents.get(intent.id)?.amount_received).toBe(2500)
  })

  test('a canceled intent cannot be confirmed (or canceled again)', async () => {
    const intent = await newIntent()
    const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' })
    expect(canceled).toMatchObject({ id: intent.id, status: 'canceled', cancellation_reason: 'abandoned', amount_received: 0 })
    const confirm = await stripeErrorOf(stripe.paymentIntents.confirm(intent.id))
    expect(confirm).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' })
    const again = await stripeErrorOf(stripe.paymentIntents.cancel(intent.id))
    expect(again.code).toBe('payment_intent_unexpected_state')
    expect(() => fake.succeedPaymentIntent(intent.id)).toThrow('canceled')
  })

  test('succeedPaymentIntent completes payment and feeds a payment_intent.succeeded event', async () => {
    const intent = await newIntent({ amount: 999 })
    const paid = fake.succeedPaymentIntent(intent.id)
    expect(paid).toMatchObject({ id: intent.id, status: 'succeeded', amount_received: 999 })
    expect(paid.payment_method).toMatch(/^pm_/)
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded')
    const event = stripeEvent('payment_intent.succeeded', paid)
    expect(event.data.object).toMatchObject({ id: intent.id, object: 'payment_intent', status: 'succeeded' })
    expect(() => fake.succeedPaymentIntent('pi_missing')).toThrow('no payment intent')
  })
})
