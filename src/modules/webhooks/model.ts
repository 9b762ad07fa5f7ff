// TypeBox models of the webhook endpoints API, and the event types accounts can subscribe to.
import { t } from 'elysia'
import { IntegerParam, Text } from '../../lib/request-schemas'

export const WEBHOOK_EVENT_TYPES = ['wallet.credited', 'wallet.low_balance', 'spending_cap.reached', 'subscription.updated'] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

/** What a project's endpoints (registered with its secret key) may subscribe to. */
export const PROJECT_EVENT_TYPES = ['wallet.credited', 'wallet.low_balance'] as const satisfies readonly WebhookEventType[]

export const isWebhookEventType = (value: string): value is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value)

const strict = { additionalProperties: false } as const

/** How many delivery attempts one page of the delivery log lists. */
export const DELIVERIES_LIMIT = { minimum: 1, maximum: 100 } as const

const endpointFields = {
  id: t.String({ description: 'we_…' }),
  object: t.Literal('webhook_endpoint'),
  url: t.String(),
  enabled_events: t.Array(t.String()),
  status: t.Union([t.Literal('enabled'), t.Literal('disabled')]),
  disabled_reason: t.Union([t.String(), t.Null()], { description: 'Why we stopped sending (e.g. the endpoint answered 410 Gone)' }),
  created_at: t.String({ description: 'ISO 8601' }),
}

export const WebhookModel = {
  create: t.Object(
    {
      // Enumerated types are checked in the service, so the error names `enabled_events` and lists the allowed ones.
      url: Text({ minLength: 1, maxLength: 2048, description: 'https URL that receives the events' }),
      enabled_events: t.Array(Text({ minLength: 1, maxLength: 100 }), {
        minItems: 1,
        maxItems: 20,
        description: `Event types to send: ${WEBHOOK_EVENT_TYPES.join(', ')}`,
      }),
    },
    strict,
  ),
  endpointParams: t.Object({ id: Text({ minLength: 1, maxLength: 100 }) }),
  deliveriesQuery: t.Object({ limit: t.Optional(IntegerParam(DELIVERIES_LIMIT, 'an integer from 1 to 100; default 20')) }),
  endpoint: t.Object(endpointFields),
  endpointWithSecret: t.Object({ ...endpointFields, secret: t.String({ description: 'whsec_…; shown only when created or rotated' }) }),
  endpointList: t.Object({ object: t.Literal('list'), data: t.Array(t.Object(endpointFields)) }),
  deleted: t.Object({ id: t.String(), object: t.Literal('webhook_endpoint'), deleted: t.Literal(true) }),
  deliveryList: t.Object({
    object: t.Literal('list'),
    data: t.Array(
      t.Object({
        id: t.String(),
        event_id: t.String(),
        event_type: t.String(),
        attempt: t.Integer(),
        status_code: t.Union([t.Integer(), t.Null()], { description: 'null when no HTTP answer came (timeout, refused address)' }),
        error: t.Union([t.String(), t.Null()]),
        latency_ms: t.Integer(),
        response_excerpt: t.String(),
        created_at: t.String(),
      }),
    ),
  }),
}
