// May this principal use the LLM API at all: an active subscription when one is required.
import { PaymentRequiredError } from '../../errors'
import type { Principal } from '../auth/service'

const SUBSCRIBED = new Set(['active', 'trialing'])

export function assertSubscribed(principal: Principal, required: boolean): void {
  if (!required || principal.kind !== 'agent' || SUBSCRIBED.has(principal.subscriptionStatus)) return
  throw new PaymentRequiredError(
    'LLM access needs an active Pro subscription. Start one with POST /subscriptions/checkout {"plan":"pro"} ' +
      'and complete the payment at the checkout_url it returns; access is enabled as soon as Stripe confirms it.',
    'subscription_required',
  )
}
