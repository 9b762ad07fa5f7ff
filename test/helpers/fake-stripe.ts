// A local fake of Stripe's HTTP API (customers, Checkout, meter events, PaymentIntents) for the official SDK, plus webhook signing and delivery; the parts live in ./fake-stripe/.
export { FAKE_STRIPE_API_VERSION, FAKE_STRIPE_SECRET_KEY } from './fake-stripe/constants'
export type { FakeCheckoutSession, FakeSubscription, PublicCheckoutSession } from './fake-stripe/checkout'
export type { FakeCustomer } from './fake-stripe/customers'
export type { FailureMode, FailurePlan } from './fake-stripe/failures'
export type { FakeMeterEvent } from './fake-stripe/meter-events'
export type { FakePaymentIntent, FakePaymentIntentStatus } from './fake-stripe/payment-intents'
export { startFakeStripe, type FakeStripe, type FakeStripeOptions, type RecordedStripeRequest } from './fake-stripe/server'
export { deliver, signStripeEvent, stripeEvent, stripePayload, webhookRequest, type StripeEventJson } from './fake-stripe/webhooks'
