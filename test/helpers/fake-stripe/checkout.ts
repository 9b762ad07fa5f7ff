// Checkout Sessions and the subscriptions that completing one creates.
import type { Clock } from './constants'
import { noSuchCustomer, type CustomerStore, type FakeCustomer } from './customers'
import { missing, nested, randomId, stripeError, type Answer } from './form'

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

export type PublicCheckoutSession = Omit<FakeCheckoutSession, 'line_items' | 'subscription_metadata'>

/** The session as Stripe serialises it, without the fake's bookkeeping fields. */
export function publicSession(session: FakeCheckoutSession): PublicCheckoutSession {
  const { line_items: _items, subscription_metadata: _metadata, ...rest } = structuredClone(session)
  return rest
}

export function checkoutStore(clock: Clock, customerStore: CustomerStore) {
  const sessions = new Map<string, FakeCheckoutSession>()
  const subscriptions = new Map<string, FakeSubscription>()

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
    if (customer !== null && !customerStore.live(customer)) return noSuchCustomer(customer, 'customer')
    const id = randomId('cs_test')
    const session: FakeCheckoutSession = {
      id,
      object: 'checkout.session',
      created: clock.seconds(),
      expires_at: clock.seconds() + 86_400,
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

  /** What Stripe does when the payer finishes Checkout: a subscription (with subscription_data.metadata), the session completed. */
  function completeCheckout(sessionId: string): { session: PublicCheckoutSession; subscription: FakeSubscription } {
    const session = sessions.get(sessionId)
    if (!session) throw new Error(`fake stripe: no session ${sessionId}`)
    if (!session.customer) session.customer = (customerStore.create({}).body as FakeCustomer).id
    const subscription: FakeSubscription = {
      id: randomId('sub'),
      object: 'subscription',
      created: clock.seconds(),
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
  }

  return { sessions, subscriptions, createSession, completeCheckout }
}
