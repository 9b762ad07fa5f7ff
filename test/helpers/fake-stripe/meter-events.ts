// Billing meter events: validation, the 24 h identifier dedupe window, and exact per-customer totals.
import { IDENTIFIER_WINDOW_MS, METER_FUTURE_LIMIT_MS, METER_PAST_LIMIT_MS, type Clock } from './constants'
import { missing, nested, randomId, stripeError, type Answer } from './form'

export interface FakeMeterEvent {
  object: 'billing.meter_event'
  created: number
  event_name: string
  identifier: string
  livemode: false
  payload: Record<string, string>
  timestamp: number
}

export function meterEventStore(clock: Clock) {
  const meterEvents: FakeMeterEvent[] = []
  const meterByIdentifier = new Map<string, { event: FakeMeterEvent; receivedAt: number }>()
  const totals = new Map<string, bigint>()
  let duplicates = 0

  function create(form: Record<string, string>): Answer {
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
    const at = clock.now()
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
      duplicates++
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

  return {
    meterEvents,
    create,
    duplicates: () => duplicates,
    total: (customerId: string, eventName: string) => totals.get(`${customerId}\u0000${eventName}`) ?? 0n,
  }
}
