// The webhooks plugin: /v1/webhook_endpoints (agent key) — register, list, delete, rotate the secret, read the delivery log.
import { Elysia } from 'elysia'
import { queryInteger } from '../../lib/request-schemas'
import { authenticatedJson, authPlugin } from '../auth'
import type { Authenticator } from '../auth/service'
import { DELIVERIES_LIMIT, WebhookModel } from './model'
import { createEndpoint, endpointDeliveries, listOwnEndpoints, removeEndpoint, rotateSecret, type WebhookServiceDeps } from './service'

export interface WebhooksDeps extends WebhookServiceDeps {
  authenticate: Authenticator
}

/** A registration is a URL and a few event types. */
const CREATE_MAX_BODY_BYTES = 64 * 1024

export function webhooksPlugin(deps: WebhooksDeps) {
  const { authenticate, ...service } = deps
  const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }]
  const detail = (summary: string) => ({ tags: ['webhooks'], summary, security })
  return new Elysia({ name: 'webhooks', prefix: '/v1/webhook_endpoints' })
    .use(authPlugin(authenticate))
    .post(
      '/',
      async ({ principal, body, set }) => {
        const created = await createEndpoint(service, principal, body)
        set.status = 201
        return created
      },
      {
        // Authenticates before reading the body, as the chat routes do.
        parse: authenticatedJson(authenticate, CREATE_MAX_BODY_BYTES),
        body: WebhookModel.create,
        response: { 201: WebhookModel.endpointWithSecret },
        detail: detail('Register a webhook endpoint; the signing secret (whsec_…) is shown only in this answer'),
      },
    )
    .get('/', ({ principal }) => listOwnEndpoints(service, principal), {
      response: WebhookModel.endpointList,
      detail: detail("The caller's webhook endpoints (without secrets)"),
    })
    .delete('/:id', ({ principal, params }) => removeEndpoint(service, principal, params.id), {
      params: WebhookModel.endpointParams,
      response: WebhookModel.deleted,
      detail: detail('Delete a webhook endpoint; queued deliveries to it are dropped'),
    })
    .post('/:id/rotate_secret', ({ principal, params }) => rotateSecret(service, principal, params.id), {
      params: WebhookModel.endpointParams,
      response: WebhookModel.endpointWithSecret,
      detail: detail('Replace the signing secret; the old one stops working at once. The new secret is shown only here'),
    })
    .get('/:id/deliveries', ({ principal, params, query }) => endpointDeliveries(service, principal, params.id, queryInteger(query.limit, 'limit', DELIVERIES_LIMIT, 20)), {
      params: WebhookModel.endpointParams,
      query: WebhookModel.deliveriesQuery,
      response: WebhookModel.deliveryList,
      detail: detail('Delivery attempts to this endpoint, newest first: status, latency, response excerpt'),
    })
}
