// The projects plugin: /v1/projects (account key, mw_…) — platform-mode projects, their secret keys (sk_live_…, sk_test_…), their usage, and what the dashboard reads of them.
import { Elysia, t } from 'elysia'
import { idempotent, type WriteContext } from '../admin/idempotency'
import { authenticatedJson, authPlugin } from '../auth'
import type { Authenticator, Principal } from '../auth/service'
import { Month, queryInteger } from '../../lib/request-schemas'
import { CustomerModel } from '../customers/model'
import { WebhookModel } from '../webhooks/model'
import { currentPeriod, parsePeriod } from '../usage/period'
import { ProjectList, ProjectModel, ProjectReadModel, READ_LIMIT } from './model'
import { projectCustomers, projectDailyUsage, projectEndpointDeliveries, projectKeys, projectLedger, projectWebhookEndpoints } from './reads'
import { projectUsage } from './usage'
import { changeProject, createProject, createProjectKey, listOwnProjects, revokeKeyOfProject, type ProjectServiceDeps } from './service'

export interface ProjectsDeps extends ProjectServiceDeps {
  authenticate: Authenticator
}

/** A project is a name, a number and a few origins. */
const PROJECT_MAX_BODY_BYTES = 64 * 1024

export function projectsPlugin(deps: ProjectsDeps) {
  const { authenticate, ...service } = deps
  const parse = authenticatedJson(authenticate, PROJECT_MAX_BODY_BYTES)
  const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }]
  const detail = (summary: string) => ({ tags: ['projects'], summary, security })
  // Each account's Idempotency-Keys are its own: the scope keeps one account's retry from replaying another's answer.
  const once = <T>(ctx: WriteContext & { principal: Principal }, write: () => Promise<T>) => idempotent(deps.sql, ctx, write, `account:${ctx.principal.accountId}`)
  return new Elysia({ name: 'projects', prefix: '/v1/projects' })
    .use(authPlugin(authenticate))
    .post(
      '/',
      (ctx) =>
        once(ctx, async () => {
          const created = await createProject(service, ctx.principal, ctx.body)
          ctx.set.status = 201
          return created
        }),
      { parse, headers: ProjectModel.writeHeaders, body: ProjectModel.create, detail: detail('Create a project: its markup, allowed browser origins and whether it mints end-user sessions') },
    )
    .get('/', ({ principal }) => listOwnProjects(service, principal), { response: ProjectList, detail: detail("The account's projects") })
    .patch('/:id', (ctx) => once(ctx, () => changeProject(service, ctx.principal, ctx.params.id, ctx.body)), {
      params: ProjectModel.projectParams,
      headers: ProjectModel.writeHeaders,
      parse,
      body: ProjectModel.update,
      response: ProjectModel.project,
      detail: detail("Change a project's settings (an omitted one keeps its value)"),
    })
    .post(
      '/:id/keys',
      (ctx) =>
        once(ctx, async () => {
          const created = await createProjectKey(service, ctx.principal, ctx.params.id, ctx.body.mode)
          ctx.set.status = 201
          return created
        }),
      {
        params: ProjectModel.projectParams,
        headers: ProjectModel.writeHeaders,
        parse,
        body: ProjectModel.createKey,
        detail: detail('Create a platform secret key (sk_live_… or sk_test_…); shown once, stored hashed'),
      },
    )
    .get('/:id/usage', ({ principal, params, query }) => projectUsage(service, principal, params.id, query.period ? parsePeriod(query.period) : currentPeriod()), {
      params: ProjectModel.projectParams,
      query: t.Object({ period: t.Optional(Month('YYYY-MM (UTC), from 1970-01 to 9999-12; default: this month')) }),
      detail: detail("A project's usage for a calendar month: tokens and cost per model and per end customer"),
    })
    .get('/:id/usage/daily', ({ principal, params, query }) =>
      projectDailyUsage(service, principal, params.id, query.period ? parsePeriod(query.period) : currentPeriod(), { mode: query.mode ?? null, endCustomerId: query.end_customer_id ?? null }), {
      params: ProjectModel.projectParams,
      query: ProjectReadModel.dailyQuery,
      detail: detail("A project's month day by day (UTC), each day per model: requests, tokens and cost; every day listed"),
    })
    .get('/:id/keys', ({ principal, params }) => projectKeys(service, principal, params.id), {
      params: ProjectModel.projectParams,
      response: ProjectReadModel.keyList,
      detail: detail("The project's secret keys, revoked ones too (never the key itself)"),
    })
    .get('/:id/customers', ({ principal, params, query }) =>
      projectCustomers(service, principal, params.id, query.mode ?? null, queryInteger(query.limit, 'limit', READ_LIMIT, 20), query.starting_after ?? null), {
      params: ProjectModel.projectParams,
      query: ProjectReadModel.customersQuery,
      response: CustomerModel.list,
      detail: detail("The project's end customers (both modes unless one is asked), oldest id first, with balance and lifetime totals"),
    })
    .get('/:id/ledger', ({ principal, params, query }) =>
      projectLedger(service, principal, params.id, { mode: query.mode ?? null, endCustomerId: query.end_customer_id ?? null }, queryInteger(query.limit, 'limit', READ_LIMIT, 50)), {
      params: ProjectModel.projectParams,
      query: ProjectReadModel.ledgerQuery,
      detail: detail("The project's money: its end users' wallet entries and totals, its top-ups, and the margin it earned"),
    })
    .get('/:id/webhook_endpoints', ({ principal, params }) => projectWebhookEndpoints(service, principal, params.id), {
      params: ProjectModel.projectParams,
      detail: detail("The project's webhook endpoints in both modes (registered with its secret keys), with a day's delivery counts; never the secret"),
    })
    .get('/:id/webhook_endpoints/:endpoint_id/deliveries', ({ principal, params, query }) =>
      projectEndpointDeliveries(service, principal, params.id, params.endpoint_id, queryInteger(query.limit, 'limit', READ_LIMIT, 20)), {
      params: ProjectReadModel.endpointParams,
      query: ProjectReadModel.deliveriesQuery,
      response: WebhookModel.deliveryList,
      detail: detail("Delivery attempts to one of the project's endpoints, newest first"),
    })
    .delete('/:id/keys/:key_id', ({ principal, params }) => revokeKeyOfProject(service, principal, params.id, params.key_id), {
      params: ProjectModel.keyParams,
      response: ProjectModel.keyRevoked,
      detail: detail('Revoke a secret key; every gateway refuses it within a second'),
    })
}
