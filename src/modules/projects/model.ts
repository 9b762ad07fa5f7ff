// TypeBox models of the projects API (platform mode, managed with the account's own key).
import { t } from 'elysia'
import { IntegerParam, Month, Text } from '../../lib/request-schemas'

const strict = { additionalProperties: false } as const

const Origin = t.String({
  pattern: '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$',
  maxLength: 300,
  description: 'a browser origin: scheme and host, with an optional port, no path (https://app.example.com)',
})

const settings = {
  markup_percent: t.Number({ minimum: 0, maximum: 1000, description: 'The markup on end-user top-ups, 0 to 1000 %, at most 2 decimals' }),
  allowed_origins: t.Array(Origin, { maxItems: 50, description: 'Browser origins allowed to call with session tokens' }),
  end_user_sessions: t.Boolean({ description: 'Whether secret keys may mint end-user sessions' }),
}

export const ProjectModel = {
  create: t.Object(
    {
      name: Text({ minLength: 1, maxLength: 200 }),
      markup_percent: t.Optional(settings.markup_percent),
      allowed_origins: t.Optional(settings.allowed_origins),
      end_user_sessions: t.Optional(settings.end_user_sessions),
    },
    strict,
  ),
  update: t.Object(
    {
      name: t.Optional(Text({ minLength: 1, maxLength: 200 })),
      markup_percent: t.Optional(settings.markup_percent),
      allowed_origins: t.Optional(settings.allowed_origins),
      end_user_sessions: t.Optional(settings.end_user_sessions),
      low_balance_threshold_usd: t.Optional(
        t.Union([t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description: 'USD as a decimal string, e.g. "1.00"' }), t.Null()], {
          description: "An end user's wallet going below this sends wallet.low_balance to the project's endpoints, once per crossing; null: never",
        }),
      ),
    },
    { ...strict, minProperties: 1 },
  ),
  projectParams: t.Object({ id: Text({ minLength: 1, maxLength: 100 }) }),
  keyParams: t.Object({ id: Text({ minLength: 1, maxLength: 100 }), key_id: Text({ minLength: 1, maxLength: 100 }) }),
  createKey: t.Object({ mode: t.Union([t.Literal('live'), t.Literal('test')], { description: 'live (sk_live_…) or test (sk_test_…)' }) }, strict),
  writeHeaders: t.Object({
    'idempotency-key': t.Optional(Text({ minLength: 1, maxLength: 255, description: 'Retries with the same key get the first answer (kept 24 hours)' })),
  }),
  project: t.Object({
    id: t.String({ description: 'proj_…' }),
    object: t.Literal('project'),
    name: t.String(),
    markup_percent: t.Number(),
    markup_bps: t.Integer({ description: 'The markup in basis points (markup_percent × 100)' }),
    allowed_origins: t.Array(t.String()),
    end_user_sessions: t.Boolean(),
    low_balance_threshold_usd: t.Union([t.String(), t.Null()]),
    created_at: t.String(),
    updated_at: t.String(),
  }),
  key: t.Object({
    id: t.String({ description: 'pkey_…' }),
    object: t.Literal('project_key'),
    project_id: t.String(),
    mode: t.Union([t.Literal('live'), t.Literal('test')]),
    secret_key: t.String({ description: 'Shown once: store it on your backend now. It mints end-user sessions.' }),
    display: t.String(),
    created_at: t.String(),
  }),
  keyRevoked: t.Object({ id: t.String(), project_id: t.String(), revoked: t.Literal(true) }),
}

export const ProjectList = t.Object({ object: t.Literal('list'), data: t.Array(ProjectModel.project) })

/** How many rows one read of a project's ledger or deliveries lists, and one page of its customers. */
export const READ_LIMIT = { minimum: 1, maximum: 100 } as const

const ModeFilter = t.Union([t.Literal('live'), t.Literal('test')], { description: 'live or test only; default: both' })
const CustomerFilter = Text({ minLength: 1, maxLength: 100, description: 'one end customer (ecus_…) only' })

/** Queries of the account's read routes of a project (the dashboard's). */
export const ProjectReadModel = {
  endpointParams: t.Object({ id: Text({ minLength: 1, maxLength: 100 }), endpoint_id: Text({ minLength: 1, maxLength: 100 }) }),
  customersQuery: t.Object({
    mode: t.Optional(ModeFilter),
    limit: t.Optional(IntegerParam(READ_LIMIT, 'an integer from 1 to 100; default 20')),
    starting_after: t.Optional(Text({ minLength: 1, maxLength: 100, description: 'a customer id: the page starts after it' })),
  }),
  dailyQuery: t.Object({
    period: t.Optional(Month('YYYY-MM (UTC), from 1970-01 to 9999-12; default: this month')),
    mode: t.Optional(ModeFilter),
    end_customer_id: t.Optional(CustomerFilter),
  }),
  ledgerQuery: t.Object({
    mode: t.Optional(ModeFilter),
    end_customer_id: t.Optional(CustomerFilter),
    limit: t.Optional(IntegerParam(READ_LIMIT, 'an integer from 1 to 100; default 50')),
  }),
  deliveriesQuery: t.Object({ limit: t.Optional(IntegerParam(READ_LIMIT, 'an integer from 1 to 100; default 20')) }),
  keyList: t.Object({
    object: t.Literal('list'),
    data: t.Array(
      t.Object({
        id: t.String({ description: 'pkey_…' }),
        object: t.Literal('project_key'),
        project_id: t.String(),
        mode: t.Union([t.Literal('live'), t.Literal('test')]),
        display: t.String({ description: 'The key\'s prefix and last characters; the key itself is never shown again' }),
        created_at: t.String(),
        revoked_at: t.Union([t.String(), t.Null()]),
      }),
    ),
  }),
}
