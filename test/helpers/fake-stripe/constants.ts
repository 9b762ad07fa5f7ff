// The fake's fixed values: its secret key, the API version it stamps, and the time limits Stripe enforces.
import Stripe from 'stripe'

export const FAKE_STRIPE_SECRET_KEY = 'sk_test_fake_0123456789abcdef'
/** The API version stamped on answers and events: the SDK's own default, as an account pinned to it would get. */
export const FAKE_STRIPE_API_VERSION = Stripe.API_VERSION

export const DAY_MS = 86_400_000
export const METER_PAST_LIMIT_MS = 35 * DAY_MS
export const METER_FUTURE_LIMIT_MS = 5 * 60_000
export const IDENTIFIER_WINDOW_MS = DAY_MS

/** The fake's clock: ms (meter-event windows) and unix seconds (created stamps). */
export interface Clock {
  now: () => number
  seconds: () => number
}
