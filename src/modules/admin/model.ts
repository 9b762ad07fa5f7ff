// TypeBox models of the admin API.
import { t } from 'elysia'
import { Text } from '../../lib/request-schemas'

const strict = { additionalProperties: false } as const
const usdString = (description: string) => t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description })

export const AdminModel = {
  agentParams: t.Object({ agent_id: Text({ minLength: 1, maxLength: 64 }) }),
  keyParams: t.Object({ key_id: Text({ minLength: 1, maxLength: 100 }) }),
  subscription: t.Object({ status: t.Union([t.Literal('active'), t.Literal('canceled')]) }, strict),
  spendCap: t.Object({ usd: t.Union([usdString('USD as a decimal string, e.g. "50.00"'), t.Null()]) }, strict),
  lowBalance: t.Object(
    { usd: t.Union([t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description: 'USD as a decimal string, e.g. "5.00"' }), t.Null()], { description: 'null: the gateway default' }) },
    strict,
  ),
  limits: t.Object(
    {
      rpm: t.Optional(t.Union([t.Integer({ minimum: 1, maximum: 1_000_000 }), t.Null()], { description: 'requests per minute; null for the default; omitted: unchanged' })),
      tpm: t.Optional(t.Union([t.Integer({ minimum: 1, maximum: 1_000_000_000 }), t.Null()], { description: 'tokens per minute; null for the default; omitted: unchanged' })),
    },
    { ...strict, minProperties: 1 },
  ),
  writeHeaders: t.Object({
    'idempotency-key': t.Optional(
      Text({ minLength: 1, maxLength: 255, description: 'Retries with the same key get the first answer (kept 24 hours); the same key with a different request is a 409' }),
    ),
  }),
  billing: t.Object(
    { mode: t.Union([t.Literal('prepaid'), t.Literal('postpaid')], { description: 'prepaid: requests hold and pay from the wallet; postpaid: invoiced' }) },
    strict,
  ),
  billingResponse: t.Object({ agent_id: t.String(), billing_mode: t.Union([t.Literal('prepaid'), t.Literal('postpaid')]) }),
  credit: t.Object(
    {
      usd: usdString('USD to add, a decimal string greater than 0 with at most 9 decimals, e.g. "10.00"'),
      reason: t.Optional(Text({ maxLength: 500, description: 'Why, for the ledger (shown in GET /llm/balance)' })),
    },
    strict,
  ),
  creditHeaders: t.Object({
    'idempotency-key': t.Optional(
      Text({ minLength: 1, maxLength: 255, description: 'Retries with the same key add the credit once (and answer 200 with the same ledger row)' }),
    ),
  }),
  creditResponse: t.Object({
    ledger_id: t.String(),
    agent_id: t.String(),
    amount_usd: t.String(),
    reference: t.String({ description: 'credit:<agent_id>:<Idempotency-Key>, or a random id without the header' }),
    created: t.Boolean({ description: 'false: a replay of an earlier request with the same Idempotency-Key' }),
    balance_usd: t.String({ description: "The agent's ledger balance after this credit" }),
  }),
}
