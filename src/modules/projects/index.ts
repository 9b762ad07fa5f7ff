// The projects plugin: /v1/projects (account key, mw_…) — platform-mode projects, their secret keys (sk_live_…, sk_test_…) and their monthly usage.
import { Elysia, t } from 'elysia'
import { idempotent, type WriteContext } from '../admin/idempotency'
import { authenticatedJson, authPlugin } from '../auth'
import type { Authenticator, Principal } from '../auth/service'
import { Month } from '../../lib/request-schemas'
import { currentPeriod, parsePeriod } from '../usage/period'
import { ProjectList, ProjectModel } from './model'
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
    .delete('/:id/keys/:key_id', ({ principal, params }) => revokeKeyOfProject(service, principal, params.id, params.key_id), {
      params: ProjectModel.keyParams,
      response: ProjectModel.keyRevoked,
      detail: detail('Revoke a secret key; every gateway refuses it within a second'),
    })
}
