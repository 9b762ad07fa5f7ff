// The pure parts of billing: Stripe-Signature verification, event → effect, and the out-of-order status rule.
import { describe, expect, test } from 'bun:test'
import { effectOf, nextStatus, parseStripeEvent, type SubscriptionStatus } from '../../src/modules/billing/events'
import { verifyStripeSignature } from '../../src/modules/billing/signature'
import { signStripeEvent, stripeEvent } from '../helpers/fake-stripe'

const SECRET = 'whsec_unit'
const NOW = 1_760_000_000
const PAYLOAD = '{\n  "id": "evt_1",\n  "object": "event"\n}'
const v1 = (payload: string, secret: string, t: number) => signStripeEvent(payload, secret, t).split(',v1=')[1]!

describe('verifyStripeSignature', () => {
  const cases: [string, string | undefined, ReturnType<typeof verifyStripeSignature>][] = [
    ['a valid header', signStripeEvent(PAYLOAD, SECRET, NOW), { ok: true, timestamp: NOW }],
    ['within tolerance (300 s old)', signStripeEvent(PAYLOAD, SECRET, NOW - 300), { ok: true, timestamp: NOW - 300 }],
    ['stale (301 s old)', signStripeEvent(PAYLOAD, SECRET, NOW - 301), { ok: false, reason: 'timestamp_outside_tolerance' }],
    ['from the future (301 s ahead)', signStripeEvent(PAYLOAD, SECRET, NOW + 301), { ok: false, reason: 'timestamp_outside_tolerance' }],
    ['no header', undefined, { ok: false, reason: 'missing_header' }],
    ['an empty header', '', { ok: false, reason: 'missing_header' }],
    ['no timestamp', `v1=${v1(PAYLOAD, SECRET, NOW)}`, { ok: false, reason: 'malformed_header' }],
    ['a non-numeric timestamp', `t=abc,v1=${v1(PAYLOAD, SECRET, NOW)}`, { ok: false, reason: 'malformed_header' }],
    ['only a v0 signature', `t=${NOW},v0=${v1(PAYLOAD, SECRET, NOW)}`, { ok: false, reason: 'no_v1_signature' }],
    ['another secret', signStripeEvent(PAYLOAD, 'whsec_other', NOW), { ok: false, reason: 'no_matching_signature' }],
    ['the timestamp changed after signing', `t=${NOW + 1},v1=${v1(PAYLOAD, SECRET, NOW)}`, { ok: false, reason: 'no_matching_signature' }],
    ['a truncated signature', `t=${NOW},v1=${v1(PAYLOAD, SECRET, NOW).slice(0, 63)}`, { ok: false, reason: 'no_matching_signature' }],
    ['the right one second of two', `t=${NOW},v1=${v1(PAYLOAD, 'whsec_old', NOW)},v1=${v1(PAYLOAD, SECRET, NOW)}`, { ok: true, timestamp: NOW }],
    ['spaces and upper-case hex', `t=${NOW}, v1=${v1(PAYLOAD, SECRET, NOW).toUpperCase()}`, { ok: true, timestamp: NOW }],
    ['unknown schemes around the right one', `t=${NOW},v0=abc,x=1,v1=${v1(PAYLOAD, SECRET, NOW)}`, { ok: true, timestamp: NOW }],
  ]
  for (const [name, header, expected] of cases) {
    test(name, () => expect(verifyStripeSignature(PAYLOAD, header, SECRET, 300, NOW)).toEqual(expected))
  }

  test('covers every byte of the payload', () => {
    const header = signStripeEvent(PAYLOAD, SECRET, NOW)
    expect(verifyStripeSignature(`${PAYLOAD} `, header, SECRET, 300, NOW)).toEqual({ ok: false, reason: 'no_matching_signature' })
    expect(verifyStripeSignature(JSON.stringify(JSON.parse(PAYLOAD)), header, SECRET, 300, NOW).ok).toBe(false)
  })

  test('signs UTF-8 bytes, not UTF-16 code units', () => {
    const payload = '{"name":"Zoë 🚀"}'
    expect(verifyStripeSignature(payload, signStripeEvent(payload, SECRET, NOW), SECRET, 300, NOW).ok).toBe(true)
  })
})

describe('parseStripeEvent and effectOf', () => {
  test('checkout.session.completed in subscription mode: agent from client_reference_id, status active', () => {
    const event = parseStripeEvent(
      stripeEvent('checkout.session.completed', { object: 'checkout.session', mode: 'subscription', client_reference_id: 'agent-1', customer: 'cus_1', subscription: 'sub_1', metadata: { agent_id: 'agent-x' } }),
    )!
    expect(effectOf(event)).toEqual({ kind: 'subscription', change: { agentId: 'agent-1', customerId: 'cus_1', subscriptionId: 'sub_1', status: 'active' } })
  })

  test('falls back to metadata.agent_id, reads expanded objects and their status', () => {
    const event = parseStripeEvent(
      stripeEvent('checkout.session.completed', { mode: 'subscription', client_reference_id: null, customer: { id: 'cus_2' }, subscription: { id: 'sub_2', status: 'trialing' }, metadata: { agent_id: 'agent-2' } }),
    )!
    expect(effectOf(event)).toEqual({ kind: 'subscription', change: { agentId: 'agent-2', customerId: 'cus_2', subscriptionId: 'sub_2', status: 'trialing' } })
  })

  test('payment-mode sessions, unknown types and unknown statuses have no effect', () => {
    expect(effectOf(parseStripeEvent(stripeEvent('checkout.session.completed', { mode: 'payment' }))!).kind).toBe('none')
    expect(effectOf(parseStripeEvent(stripeEvent('invoice.paid', { id: 'in_1' }))!).kind).toBe('none')
    expect(effectOf(parseStripeEvent(stripeEvent('customer.subscription.updated', { id: 'sub_1', status: 'galactic' }))!).kind).toBe('none')
  })

  test('subscription events: deleted is canceled whatever the object says', () => {
    const event = parseStripeEvent(stripeEvent('customer.subscription.deleted', { id: 'sub_3', customer: 'cus_3', status: 'active', metadata: {} }))!
    expect(effectOf(event)).toEqual({ kind: 'subscription', change: { agentId: null, customerId: 'cus_3', subscriptionId: 'sub_3', status: 'canceled' } })
  })

  test('refuses JSON that is not an event', () => {
    expect(parseStripeEvent(null)).toBeNull()
    expect(parseStripeEvent({ id: 'evt_1', object: 'charge', type: 'x', data: { object: {} } })).toBeNull()
    expect(parseStripeEvent({ id: '', object: 'event', type: 'x', data: { object: {} } })).toBeNull()
    expect(parseStripeEvent({ id: 'evt_1', object: 'event', type: 'x', data: null })).toBeNull()
  })
})

describe('nextStatus (events arrive in any order)', () => {
  const cases: [string, [string, string | null], [SubscriptionStatus, string | null], SubscriptionStatus | null][] = [
    ['first subscription', ['none', null], ['active', 'sub_1'], 'active'],
    ['same subscription moves on', ['active', 'sub_1'], ['past_due', 'sub_1'], 'past_due'],
    ['same subscription canceled', ['past_due', 'sub_1'], ['canceled', 'sub_1'], 'canceled'],
    ['a canceled subscription is not revived by a late update', ['canceled', 'sub_1'], ['active', 'sub_1'], null],
    ['a late created (incomplete) after activation', ['active', 'sub_1'], ['incomplete', 'sub_1'], null],
    ['incomplete first, then active', ['incomplete', 'sub_1'], ['active', 'sub_1'], 'active'],
    ['a late event of an old subscription does not demote the new one', ['active', 'sub_2'], ['canceled', 'sub_1'], null],
    ['a new live subscription takes over from a canceled one', ['canceled', 'sub_1'], ['active', 'sub_2'], 'active'],
    ['a new subscription that is not live does not take over', ['canceled', 'sub_1'], ['incomplete', 'sub_2'], null],
    ['an event without a subscription id applies', ['none', null], ['active', null], 'active'],
  ]
  for (const [name, [status, subscriptionId], [incoming, incomingId], expected] of cases) {
    test(name, () => expect(nextStatus({ status, subscriptionId }, { status: incoming, subscriptionId: incomingId })).toBe(expected))
  }
})
