// PaymentIntents: create, retrieve, confirm and cancel, with Stripe's status rules and errors.
import type { Clock } from './constants'
import { noSuchCustomer, type CustomerStore } from './customers'
import { missing, nested, randomId, stripeError, type Answer } from './form'

export type FakePaymentIntentStatus = 'requires_payment_method' | 'succeeded' | 'canceled'

export interface FakePaymentIntent {
  id: string
  object: 'payment_intent'
  amount: number
  amount_received: number
  automatic_payment_methods: { enabled: boolean } | null
  canceled_at: number | null
  cancellation_reason: string | null
  client_secret: string
  created: number
  currency: string
  customer: string | null
  description: string | null
  livemode: false
  metadata: Record<string, string>
  payment_method: string | null
  status: FakePaymentIntentStatus
}

const CONFIRMABLE: readonly string[] = ['requires_payment_method', 'requires_confirmation', 'requires_action']
const CANCELABLE: readonly string[] = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing']
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']

const invalid = (param: string, message: string, code?: string) => stripeError(400, 'invalid_request_error', message, { param, ...(code ? { code } : {}) })

const noSuchIntent = (id: string): Answer =>
  stripeError(404, 'invalid_request_error', `No such payment_intent: '${id}'`, { code: 'resource_missing', param: 'intent' })

/** Stripe's 400 for an action the intent's status forbids; like Stripe, the error carries the intent. */
function unexpectedState(intent: FakePaymentIntent, message: string): Answer {
  const answer = stripeError(400, 'invalid_request_error', message, { code: 'payment_intent_unexpected_state' })
  const body = answer.body as { error: Record<string, unknown> }
  return { status: 400, body: { error: { ...body.error, payment_intent: structuredClone(intent) } } }
}

function cannotConfirm(intent: FakePaymentIntent): Answer | null {
  if (CONFIRMABLE.includes(intent.status)) return null
  if (intent.status === 'succeeded') return unexpectedState(intent, 'You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.')
  return unexpectedState(
    intent,
    `You cannot confirm this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(', ')}.`,
  )
}

export function paymentIntentStore(clock: Clock, customerStore: CustomerStore) {
  const paymentIntents = new Map<string, FakePaymentIntent>()
  /** Answers are copies: an Idempotency-Key replay must give the intent as it was, not as it is now. */
  const ok = (intent: FakePaymentIntent): Answer => ({ status: 200, body: structuredClone(intent) })

  function create(form: Record<string, string>): Answer {
    if (form.amount === undefined || form.amount === '') return missing('amount')
    if (!/^-?\d+$/.test(form.amount) || !Number.isSafeInteger(Number(form.amount))) return invalid('amount', `Invalid integer: ${form.amount}`, 'parameter_invalid_integer')
    const amount = Number(form.amount)
    if (amount <= 0) return invalid('amount', 'This value must be greater than or equal to 1.', 'parameter_invalid_integer')
    if (!form.currency) return missing('currency')
    const currency = form.currency.toLowerCase()
    if (!/^[a-z]{3}$/.test(currency)) return invalid('currency', `Invalid currency: ${form.currency}.`)
    const customer = form.customer ?? null
    if (customer !== null && !customerStore.live(customer)) return noSuchCustomer(customer, 'customer')
    const automatic = form['automatic_payment_methods[enabled]']
    if (automatic !== undefined && automatic !== 'true' && automatic !== 'false') {
      return invalid('automatic_payment_methods[enabled]', `Invalid boolean: ${automatic}`)
    }
    const id = randomId('pi')
    const intent: FakePaymentIntent = {
      id,
      object: 'payment_intent',
      amount,
      amount_received: 0,
      automatic_payment_methods: automatic === undefined ? null : { enabled: automatic === 'true' },
      canceled_at: null,
      cancellation_reason: null,
      client_secret: `${id}_secret_${randomId('s').slice(2)}`,
      created: clock.seconds(),
      currency,
      customer,
      description: form.description ?? null,
      livemode: false,
      metadata: nested(form, 'metadata'),
      payment_method: null,
      status: 'requires_payment_method',
    }
    paymentIntents.set(id, intent)
    return ok(intent)
  }

  function retrieve(id: string): Answer {
    const intent = paymentIntents.get(id)
    return intent ? ok(intent) : noSuchIntent(id)
  }

  /** The payment goes through: what a payer completing payment (or a confirm with a working method) leads to. */
  function succeed(intent: FakePaymentIntent, paymentMethod: string | undefined): void {
    intent.payment_method = paymentMethod ?? intent.payment_method ?? randomId('pm')
    intent.status = 'succeeded'
    intent.amount_received = intent.amount
  }

  function confirm(id: string, form: Record<string, string>): Answer {
    const intent = paymentIntents.get(id)
    if (!intent) return noSuchIntent(id)
    const refused = cannotConfirm(intent)
    if (refused) return refused
    succeed(intent, form.payment_method)
    return ok(intent)
  }

  function cancel(id: string, form: Record<string, string>): Answer {
    const intent = paymentIntents.get(id)
    if (!intent) return noSuchIntent(id)
    const reason = form.cancellation_reason
    if (reason !== undefined && !CANCELLATION_REASONS.includes(reason)) {
      return invalid('cancellation_reason', `Invalid cancellation_reason: must be one of ${CANCELLATION_REASONS.join(', ')}`)
    }
    if (!CANCELABLE.includes(intent.status)) {
      return unexpectedState(
        intent,
        `You cannot cancel this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
      )
    }
    Object.assign(intent, { status: 'canceled', canceled_at: clock.seconds(), cancellation_reason: reason ?? null })
    return ok(intent)
  }

  /** Test helper: the payer completes payment; throws when the intent is missing or not payable. */
  function succeedPaymentIntent(id: string): FakePaymentIntent {
    const intent = paymentIntents.get(id)
    if (!intent) throw new Error(`fake stripe: no payment intent ${id}`)
    if (cannotConfirm(intent)) throw new Error(`fake stripe: payment intent ${id} is ${intent.status}, it cannot succeed`)
    succeed(intent, undefined)
    return structuredClone(intent)
  }

  return { paymentIntents, create, retrieve, confirm, cancel, succeedPaymentIntent }
}
