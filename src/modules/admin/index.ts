// The admin plugin under /admin, behind `Authorization: Bearer $ADMIN_TOKEN` (mounted only when ADMIN_TOKEN is set).
import { Elysia } from 'elysia'
import { adminJson, type AdminGuard } from '../auth/admin-guard'
import { idempotent, type WriteContext } from './idempotency'
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

/** Admin bodies are a few fields; anything near this is not an admin request. */
const ADMIN_MAX_BODY_BYTES = 64 * 1024

export function adminPlugin(guard: AdminGuard, deps: AdminDeps) {
  const parse = adminJson(guard, ADMIN_MAX_BODY_BYTES)
  const detail = (summary: string) => ({ tags: ['admin'], summary, security: [{ bearer: [] }] })
  // Credits keep their own key (it names the ledger row, so a replay answers created: false); every other write goes here.
  const once = <T>(ctx: WriteContext, write: () => Promise<T>) => idempotent(deps.sql, ctx, write)
  return new Elysia({ name: 'admin', prefix: '/admin' })
    // Local on purpose: a scoped guard would lift into the app and lock every route mounted after this one.
    .derive(({ headers, request }) => {
      guard({ headers, request })
      return {}
    })
    .post('/agents/:agent_id/subscription', (ctx) => once(ctx, () => setAgentSubscription(deps, ctx.params.agent_id, ctx.body.status)), {
      params: AdminModel.agentParams,
      headers: AdminModel.writeHeaders,
      parse,
      body: AdminModel.subscription,
      detail: detail("Set an agent's subscription status"),
    })
    .put('/agents/:agent_id/spend-cap', (ctx) => once(ctx, () => setAgentSpendCap(deps, ctx.params.agent_id, ctx.body.usd)), {
      params: AdminModel.agentParams,
      headers: AdminModel.writeHeaders,
      parse,
      body: AdminModel.spendCap,
      detail: detail("Set or clear an agent's monthly spending cap (USD)"),
    })
    .put('/agents/:agent_id/limits', (ctx) => once(ctx, () => setAgentLimits(deps, ctx.params.agent_id, ctx.body)), {
      params: AdminModel.agentParams,
      headers: AdminModel.writeHeaders,
      parse,
      body: AdminModel.limits,
      detail: detail("Set an agent's requests-per-minute and tokens-per-minute limits (an omitted one keeps its value)"),
    })
    .put('/agents/:agent_id/low-balance-threshold', (ctx) => once(ctx, () => setAgentLowBalanceThreshold(deps, ctx.params.agent_id, ctx.body.usd)), {
      params: AdminModel.agentParams,
      headers: AdminModel.writeHeaders,
      parse,
      body: AdminModel.lowBalance,
      detail: detail("Set the balance below which a prepaid agent gets wallet.low_balance (null: the default)"),
    })
    .put('/agents/:agent_id/billing', (ctx) => once(ctx, () => setAgentBillingMode(deps, ctx.params.agent_id, ctx.body.mode)), {
      params: AdminModel.agentParams,
      headers: AdminModel.writeHeaders,
      parse,
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
        parse,
        body: AdminModel.credit,
        response: { 200: AdminModel.creditResponse, 201: AdminModel.creditResponse },
        detail: detail("Add a credit to an agent's prepaid wallet (idempotent with an Idempotency-Key header)"),
      },
    )
    .post(
      '/agents/:agent_id/keys',
      (ctx) =>
        once(ctx, async () => {
          const created = await createAgentKey(deps, ctx.params.agent_id)
          ctx.set.status = 201
          return created
        }),
      { params: AdminModel.agentParams, headers: AdminModel.writeHeaders, detail: detail('Create a new API key for an agent (shown once; a retry with the same Idempotency-Key shows the same key)') },
    )
    .delete('/keys/:key_id', (ctx) => once(ctx, () => revokeKey(deps, ctx.params.key_id)), {
      params: AdminModel.keyParams,
      headers: AdminModel.writeHeaders,
      detail: detail('Revoke an API key everywhere within a second'),
    })
}
