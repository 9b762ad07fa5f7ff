// Stripe events → what they mean for an account (pure): which account, which subscription, which status.

/** The values accounts.subscription_status accepts (its CHECK constraint). */
export const SUBSCRIPTION_STATUSES = [
  'none',
  'active',
  'trialing',
  'past_due',
  'canceled',
  'incomplete',
  'incomplete_expired',
  'unpaid',
  'paused',
] as const
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number]

export const isSubscriptionStatus = (value: unknown): value is SubscriptionStatus =>
  typeof value === 'string' && (SUBSCRIPTION_STATUSES as readonly string[]).includes(value)

export interface StripeEventEnvelope {
  id: string
  type: string
  object: Record<string, unknown>
}

/** Event types another feature applies (end-user top-ups), given the mode whose webhook secret verified the event. */
export interface PlatformStripeEvents {
  handles(type: string): boolean
  receive(event: StripeEventEnvelope, mode: 'live' | 'test'): Promise<{ received: true; duplicate?: true }>
}

/** The event's id, type and data.object, or null when the JSON is not a Stripe event. */
export function parseStripeEvent(json: unknown): StripeEventEnvelope | null {
  if (!isRecord(json) || json.object !== 'event') return null
  const { id, type, data } = json
  if (typeof id !== 'string' || !id || typeof type !== 'string' || !type) return null
  if (!isRecord(data) || !isRecord(data.object)) return null
  return { id, type, object: data.object }
}

/** A subscription state to apply to the account the hints point at. */
export interface SubscriptionChange {
  /** Our account id as we sent it to Stripe (client_reference_id / metadata.agent_id); preferred over the customer. */
  agentId: string | null
  customerId: string | null
  subscriptionId: string | null
  status: SubscriptionStatus
}

export type EventEffect = { kind: 'subscription'; change: SubscriptionChange } | { kind: 'none'; reason: string }

const SUBSCRIPTION_EVENTS = new Set(['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted'])

export function effectOf(event: StripeEventEnvelope): EventEffect {
  const o = event.object
  if (event.type === 'checkout.session.completed') {
    if (o.mode !== 'subscription') return { kind: 'none', reason: `checkout session in ${String(o.mode)} mode` }
    const subscription = o.subscription
    // An expanded subscription carries its real status; a bare id means Stripe confirmed the payment: active.
    const status = isRecord(subscription) && isSubscriptionStatus(subscription.status) ? subscription.status : 'active'
    return {
      kind: 'subscription',
      change: {
        agentId: nonEmpty(o.client_reference_id) ?? metadataAgentId(o),
        customerId: idOf(o.customer),
        subscriptionId: idOf(subscription),
        status,
      },
    }
  }
  if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const status = event.type === 'customer.subscription.deleted' ? 'canceled' : o.status
    if (!isSubscriptionStatus(status)) return { kind: 'none', reason: `unknown subscription status ${String(status)}` }
    return {
      kind: 'subscription',
      change: { agentId: metadataAgentId(o), customerId: idOf(o.customer), subscriptionId: idOf(o.id), status },
    }
  }
  return { kind: 'none', reason: 'event type not used' }
}

const TERMINAL = new Set<string>(['canceled', 'incomplete_expired'])
const LIVE = new Set<string>(['active', 'trialing'])

/**
 * The status to store, or null to leave the account alone. Stripe does not deliver events in order, so:
 * a late event of a subscription the account has moved away from cannot demote it (only a live one takes over);
 * a canceled subscription stays canceled (Stripe never revives one); and `incomplete`, which is only ever a
 * subscription's first state, cannot overwrite a later one (a late `created` after `checkout.session.completed`).
 */
export function nextStatus(
  current: { status: string; subscriptionId: string | null },
  incoming: { status: SubscriptionStatus; subscriptionId: string | null },
): SubscriptionStatus | null {
  const sameSubscription = current.subscriptionId !== null && current.subscriptionId === incoming.subscriptionId
  if (current.subscriptionId !== null && incoming.subscriptionId !== null && !sameSubscription) {
    return LIVE.has(incoming.status) ? incoming.status : null
  }
  if (sameSubscription && TERMINAL.has(current.status) && !TERMINAL.has(incoming.status)) return null
  if (sameSubscription && incoming.status === 'incomplete' && current.status !== 'incomplete' && current.status !== 'none') return null
  return incoming.status
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function nonEmpty(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

/** Stripe references are either an id or, when expanded, the object itself. */
function idOf(value: unknown): string | null {
  return isRecord(value) ? nonEmpty(value.id) : nonEmpty(value)
}

function metadataAgentId(object: Record<string, unknown>): string | null {
  return isRecord(object.metadata) ? nonEmpty(object.metadata.agent_id) : null
}
