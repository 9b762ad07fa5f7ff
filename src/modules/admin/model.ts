// TypeBox models of the admin API.
import { t } from 'elysia'

const strict = { additionalProperties: false } as const

export const AdminModel = {
  agentParams: t.Object({ agent_id: t.String({ minLength: 1 }) }),
  keyParams: t.Object({ key_id: t.String({ minLength: 1 }) }),
  subscription: t.Object({ status: t.Union([t.Literal('active'), t.Literal('canceled')]) }, strict),
  spendCap: t.Object(
    { usd: t.Union([t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description: 'USD as a decimal string, e.g. "50.00"' }), t.Null()]) },
    strict,
  ),
  limits: t.Object(
    {
      rpm: t.Union([t.Integer({ minimum: 1, maximum: 1_000_000 }), t.Null()], { description: 'requests per minute; null for the default' }),
      tpm: t.Union([t.Integer({ minimum: 1, maximum: 1_000_000_000 }), t.Null()], { description: 'tokens per minute; null for the default' }),
    },
    strict,
  ),
}
