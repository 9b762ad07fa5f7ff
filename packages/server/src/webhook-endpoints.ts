// webhookEndpoints: register, list and delete the project's endpoints (in the key's mode); the signing secret is shown once, at creation.
import { request, segment, type Transport } from './http'

export type WebhookEventType = 'wallet.credited' | 'wallet.low_balance'

export interface WebhookEndpoint {
  id: string
  url: string
  enabledEvents: string[]
  status: 'enabled' | 'disabled'
  disabledReason: string | null
  createdAt: string
}

interface EndpointWire {
  id: string
  url: string
  enabled_events: string[]
  status: 'enabled' | 'disabled'
  disabled_reason: string | null
  created_at: string
}

const endpoint = (wire: EndpointWire): WebhookEndpoint => ({
  id: wire.id,
  url: wire.url,
  enabledEvents: wire.enabled_events,
  status: wire.status,
  disabledReason: wire.disabled_reason,
  createdAt: wire.created_at,
})

export function webhookEndpointsResource(transport: Transport) {
  return {
    /** POST /v1/webhook_endpoints: keep `secret` (whsec_…) to verify deliveries with webhooks.constructEvent. */
    async create(params: { url: string; enabledEvents: WebhookEventType[] }): Promise<WebhookEndpoint & { secret: string }> {
      const wire = await request<EndpointWire & { secret: string }>(transport, 'POST', '/v1/webhook_endpoints', {
        body: { url: params.url, enabled_events: params.enabledEvents },
      })
      return { ...endpoint(wire), secret: wire.secret }
    },
    /** GET /v1/webhook_endpoints: this key's project and mode, without secrets. */
    async list(): Promise<{ webhookEndpoints: WebhookEndpoint[] }> {
      const wire = await request<{ data: EndpointWire[] }>(transport, 'GET', '/v1/webhook_endpoints')
      return { webhookEndpoints: wire.data.map(endpoint) }
    },
    /** DELETE /v1/webhook_endpoints/{id}: queued deliveries to it are dropped. */
    async del(id: string): Promise<{ id: string; deleted: true }> {
      const wire = await request<{ id: string; deleted: true }>(transport, 'DELETE', `/v1/webhook_endpoints/${segment('id', id)}`)
      return { id: wire.id, deleted: wire.deleted }
    },
  }
}
