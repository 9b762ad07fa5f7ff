// The admin plugin under /admin, behind `Authorization: Bearer $ADMIN_TOKEN` (mounted only when ADMIN_TOKEN is set).
import { timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { AuthenticationError } from '../../errors'
import { extractApiKey, hashApiKey } from '../auth/service'
import { AdminModel } from './model'
import {
  createAgentKey,
  creditAgent,
  revokeKey,
  setAgentBillingMode,
  setAgentLimits,
  setAgentSpendCap,
  setAgentLowBalanceThreshold,
  setAgentSubscription,
  type AdminDeps,
} from './service'

/** Compares digests, not the tokens: equal lengths always, and the time taken says nothing about the token. */
function adminTokenMatcher(token: string) {
  const expected = Buffer.from(hashApiKey(token), 'hex')
  return (presented: string | undefined) => presented !== undefined && timingSafeEqual(Buffer.from(hashApiKey(presented), 'hex'), expected)
}

export function adminPlugin(adminToken: string, deps: AdminDeps) {
  const isAdmin = adminTokenMatcher(adminToken)
  const detail = (summary: string) => ({ tags: ['admin'], summary, security: [{ bearer: [] }] })
  return new Elysia({ name: 'admin', prefix: '/admin' })
    // Local on purpose: a scoped guard would lift into the app and lock every route mounted after this one.
    .derive(({ headers }) => {
      if (!isAdmin(extractApiKey(headers))) throw new AuthenticationError('Missing or invalid admin token.')
      return {}
    })
    .post('/agents/:agent_id/subscription', ({ params, body }) => setAgentSubscription(deps, params.agent_id, body.status), {
      params: AdminModel.agentParams,
      body: AdminModel.subscription,
      detail: detail("Set an agent's subscription status"),
    })
    .put('/agents/:agent_id/spend-cap', ({ params, body }) => setAgentSpendCap(deps, params.agent_id, body.usd), {
      params: AdminModel.agentParams,
      body: AdminModel.spendCap,
      detail: detail("Set or clear an agent's monthly spending cap (USD)"),
    })
    .put('/agents/:agent_id/limits', ({ params, body }) => setAgentLimits(deps, params.agent_id, body.rpm, body.tpm), {
      params: AdminModel.agentParams,
      body: AdminModel.limits,
      detail: detail("Set an agent's requests-per-minute and tokens-per-minute limits"),
    })
    .put('/agents/:agent_id/low-balance-threshold', ({ params, body }) => setAgentLowBalanceThreshold(deps, params.agent_id, body.usd), {
      params: AdminModel.agentParams,
      body: AdminModel.lowBalance,
      detail: detail("Set the balance below which a prepaid agent gets wallet.low_balance (null: the default)"),
    })
    .put('/agents/:agent_id/billing', ({ params, body }) => setAgentBillingMode(deps, params.agent_id, body.mode), {
      params: AdminModel.agentParams,
      body: AdminModel.billing,
      response: AdminModel.billingResponse,
      detail: detail("Set an agent's billing mode: prepaid (pays from its wallet) or postpaid"),
    })
    .post(
      '/agents/:agent_id/credit',
      async ({ params, body, headers, set }) => {
        const outcome = await creditAgent(deps, params.agent_id, body.usd, body.reason ?? '', headers['idempotency-key'])
        set.status = outcome.created ? 201 : 200
        return outcome.body
      },
      {
        params: AdminModel.agentParams,
        headers: AdminModel.creditHeaders,
        body: AdminModel.credit,
        response: { 200: AdminModel.creditResponse, 201: AdminModel.creditResponse },
        detail: detail("Add a credit to an agent's prepaid wallet (idempotent with an Idempotency-Key header)"),
      },
    )
    .post(
      '/agents/:agent_id/keys',
      async ({ params, set }) => {
        const created = await createAgentKey(deps, params.agent_id)
        set.status = 201
        return created
      },
      { params: AdminModel.agentParams, detail: detail('Create a new API key for an agent (shown once)') },
    )
    .delete('/keys/:key_id', ({ params }) => revokeKey(deps, params.key_id), {
      params: AdminModel.keyParams,
      detail: detail('Revoke an API key everywhere within a second'),
    })
}
