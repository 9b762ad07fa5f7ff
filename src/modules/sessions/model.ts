// TypeBox models of the session API: minting (secret key), refreshing and the session's own config (session token).
import { t } from 'elysia'
import { Text } from '../../lib/request-schemas'

const strict = { additionalProperties: false } as const
const Mode = t.Union([t.Literal('live'), t.Literal('test')])

export const SESSION_TTL = { minimum: 60, maximum: 3600, default: 900 } as const

export const SessionModel = {
  create: t.Object(
    {
      customer: t.Union(
        [
          Text({ minLength: 1, maxLength: 200, description: 'your stable id of the end user' }),
          t.Object(
            {
              external_id: Text({ minLength: 1, maxLength: 200, description: 'your stable id of the end user' }),
              email: t.Optional(Text({ maxLength: 320 })),
              name: t.Optional(Text({ maxLength: 200 })),
            },
            strict,
          ),
        ],
        { description: 'The end user: their external id, or {external_id, email?, name?}' },
      ),
      scope: t.Optional(
        t.Object(
          {
            models: t.Optional(t.Array(Text({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100, description: 'Models the session may call (chat, embedding and image models); omitted: any' })),
            max_spend: t.Optional(t.String({ pattern: '^\\d{1,9}(\\.\\d{1,9})?$', description: 'The most this session (and its refreshes) may spend, USD, e.g. "2.00"' })),
          },
          // Unknown fields are dropped before validation: an object with none of these is a mistake, not "no limits".
          { ...strict, minProperties: 1, description: 'Limits of the session; omit it for none' },
        ),
      ),
      ttl_seconds: t.Optional(t.Integer({ minimum: SESSION_TTL.minimum, maximum: SESSION_TTL.maximum, description: '60 to 3600; default 900' })),
    },
    strict,
  ),
  session: t.Object({
    session_token: t.String({ description: 'es_… (es_test_… in test mode): give it to the browser' }),
    wallet_id: t.String(),
    end_customer_id: t.String(),
    expires_at: t.String({ description: 'ISO 8601' }),
    publishable_key: t.Union([t.String(), t.Null()], { description: "Stripe's publishable key for this mode, or null" }),
    mode: Mode,
  }),
  tokenParams: t.Object({ session_token: Text({ minLength: 1, maxLength: 200 }) }),
  revoked: t.Object({ revoked: t.Literal(true), end_customer_id: t.String() }),
  config: t.Object({
    publishable_key: t.Union([t.String(), t.Null()]),
    mode: Mode,
    models: t.Array(t.String(), { description: 'The models this session may call: its scope, or (unscoped) every chat model' }),
  }),
}
