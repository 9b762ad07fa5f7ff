// The webhooks plugin: /v1/webhook_endpoints (agent key: the account's; secret key: its project's in its mode) — register, list, delete, rotate the secret, read the delivery log.
import { Elysia } from 'elysia'
import { queryInteger } from '../../lib/request-schemas'
import { authenticatedJson, principalOfRequest } from '../auth'
import { projectOfRequest, secretKeyJson, type PlatformAuth } from '../auth/platform'
import { extractApiKey, type Authenticator } from '../auth/service'
import { DELIVERIES_LIMIT, WebhookModel } from './model'
import { createEndpoint, endpointDeliveries, listOwnEndpoints, removeEndpoint, rotateSecret, type EndpointCaller, type WebhookServiceDeps } from './service'

export interface WebhooksDeps extends WebhookServiceDeps {
  authenticate: Authenticator
  /** Secret keys (sk_live_…, sk_test_…) register their project's endpoints; without it only agent keys are taken. */
  platformAuth?: PlatformAuth
}

type Headers = Record<string, string | undefined>

/** A platform secret key, by its prefix: the one credential that is not an agent key here. */
const isSecretKey = (headers: Headers) => /^sk_(live|test)_/.test(extractApiKey(headers) ?? '')

/** A registration is a URL and a few event types. */
const CREATE_MAX_BODY_BYTES = 64 * 1024

export function webhooksPlugin(deps: WebhooksDeps) {
  const { authenticate, platformAuth, ...service } = deps
  const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }]
  const detail = (summary: string) => ({ tags: ['webhooks'], summary, security })
  const platform = platformAuth
  const callerOf = async (headers: Headers, request: Request): Promise<EndpointCaller> =>
    platform && isSecretKey(headers) ? { kind: 'project', project: await projectOfRequest(platform, headers, request) } : principalOfRequest(authenticate, headers, request)
  const accountJson = authenticatedJson(authenticate, CREATE_MAX_BODY_BYTES)
  const projectJson = platform ? secretKeyJson(platform, CREATE_MAX_BODY_BYTES) : accountJson
  // Authenticates before reading the body, as the chat routes do, with whichever credential the caller holds.
  const parse = (ctx: { request: Request; headers: Headers }) => (isSecretKey(ctx.headers) ? projectJson(ctx) : accountJson(ctx))
  return new Elysia({ name: 'webhooks', prefix: '/v1/webhook_endpoints' })
    .derive(async ({ headers, request }) => ({ principal: await callerOf(headers, request) }))
    .post(
      '/',
      async ({ principal, body, set }) => {
        const created = await createEndpoint(service, principal, body)
        set.status = 201
        return created
      },
      {
        parse,
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
