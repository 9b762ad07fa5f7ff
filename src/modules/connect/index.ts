// The Connect plugin: /v1/connect (account key mw_…, or a project's live secret key acting for its account) — onboarding, status, margin payouts.
import { Elysia } from 'elysia'
import { PermissionError } from '../../errors'
import { queryInteger } from '../../lib/request-schemas'
import { idempotent, type WriteContext } from '../admin/idempotency'
import { authenticatedJson, principalOfRequest } from '../auth'
import { projectOfRequest, secretKeyJson, type PlatformAuth } from '../auth/platform'
import { extractApiKey, type Authenticator } from '../auth/service'
import { ConnectModel, PAYOUTS_LIMIT } from './model'
import { accountPayouts, connectStatus, createPayout, onboard, type ConnectServiceDeps } from './service'

export interface ConnectDeps extends ConnectServiceDeps {
  authenticate: Authenticator
  platformAuth: PlatformAuth
}

type Headers = Record<string, string | undefined>

const isSecretKey = (headers: Headers) => /^sk_(live|test)_/.test(extractApiKey(headers) ?? '')

/** Two URLs. */
const ONBOARD_MAX_BODY_BYTES = 16 * 1024

export function connectPlugin(deps: ConnectDeps) {
  const { authenticate, platformAuth, ...service } = deps
  const security: Record<string, string[]>[] = [{ bearer: [] }, { apiKey: [] }]
  const detail = (summary: string) => ({ tags: ['connect'], summary, security })
  /** Whose margin: the account of the account key, or of the live secret key's project (margin is live money only). */
  const accountOf = async (headers: Headers, request: Request): Promise<string> => {
    if (isSecretKey(headers)) {
      const project = await projectOfRequest(platformAuth, headers, request)
      if (project.mode !== 'live') {
        throw new PermissionError('Payouts move live money: use the live secret key (sk_live_…) or the account key. Test mode accrues no margin.', 'live_key_required')
      }
      return project.accountId
    }
    const principal = await principalOfRequest(authenticate, headers, request)
    if (principal.kind !== 'agent') {
      throw new PermissionError("Connect payouts belong to a registered account: call with the account's key (mw_live_…) or a project's live secret key.", 'connect_not_available')
    }
    return principal.accountId
  }
  const accountJson = authenticatedJson(authenticate, ONBOARD_MAX_BODY_BYTES)
  const projectJson = secretKeyJson(platformAuth, ONBOARD_MAX_BODY_BYTES)
  const parse = (ctx: { request: Request; headers: Headers }) => (isSecretKey(ctx.headers) ? projectJson(ctx) : accountJson(ctx))
  // Each account's Idempotency-Keys are its own.
  const once = <T>(ctx: WriteContext & { accountId: string }, write: () => Promise<T>) => idempotent(service.sql, ctx, write, `connect:${ctx.accountId}`)
  return new Elysia({ name: 'connect', prefix: '/v1/connect' })
    .derive(async ({ headers, request }) => ({ accountId: await accountOf(headers, request) }))
    .post('/onboard', (ctx) => once(ctx, () => onboard(service, ctx.accountId, ctx.body)), {
      parse,
      headers: ConnectModel.writeHeaders,
      body: ConnectModel.onboard,
      response: ConnectModel.onboardingLink,
      detail: detail("Create the account's Stripe Express account (once) and a fresh onboarding link"),
    })
    .get('/status', ({ accountId }) => connectStatus(service, accountId), {
      response: ConnectModel.status,
      detail: detail('The connected account as Stripe reports it now, and the margin that can be paid out'),
    })
    .post(
      '/payouts',
      (ctx) =>
        once(ctx, async () => {
          const payout = await createPayout(service, ctx.accountId)
          ctx.set.status = 201
          return payout
        }),
      {
        parse: 'none',
        headers: ConnectModel.writeHeaders,
        detail: detail('Transfer the accrued margin (whole cents, at least $1.00) to the connected account: reserved first, transferred once, released if Stripe refuses'),
      },
    )
    .get('/payouts', ({ accountId, query }) => accountPayouts(service, accountId, queryInteger(query.limit, 'limit', PAYOUTS_LIMIT, 20)), {
      query: ConnectModel.listQuery,
      response: ConnectModel.payoutList,
      detail: detail("The account's payouts, newest first"),
    })
}
