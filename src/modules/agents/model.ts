// TypeBox models of agent registration.
import { t } from 'elysia'
import { Text } from '../../lib/request-schemas'

export const AgentModel = {
  register: t.Object(
    {
      agent_id: t.String({ pattern: '^[a-z0-9][a-z0-9_-]{2,63}$', description: '3–64 characters: lowercase letters, digits, - and _' }),
      name: Text({ minLength: 1, maxLength: 200 }),
      description: t.Optional(Text({ maxLength: 2_000 })),
      capabilities: t.Optional(t.Array(Text({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    },
    { additionalProperties: false },
  ),
  registered: t.Object({
    agent_id: t.String(),
    name: t.String(),
    description: t.String(),
    capabilities: t.Array(t.String()),
    api_key: t.String({ description: 'Shown once: store it now. Send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".' }),
    key_id: t.String(),
    subscription_status: t.String(),
    created_at: t.String(),
  }),
}
