// sessions: mint an end-user session token with the secret key, refresh it with the token itself, revoke it.
import { request, segment, usdString, type Transport } from './http'

export type Mode = 'live' | 'test'

export interface SessionCreateParams {
  /** Your stable id of the end user, or the id with an email and a name. */
  customer: string | { externalId: string; email?: string; name?: string }
  /** Models the session may call (omitted: any) and the most it may spend, in USD. */
  scope?: { models?: string[]; maxSpend?: number | string }
  /** 60 to 3600; the gateway's default is 900. */
  ttlSeconds?: number
}

export interface Session {
  sessionToken: string
  walletId: string
  endCustomerId: string
  /** ISO 8601. */
  expiresAt: string
  publishableKey: string | null
  mode: Mode
}

interface SessionWire {
  session_token: string
  wallet_id: string
  end_customer_id: string
  expires_at: string
  publishable_key: string | null
  mode: Mode
}

const session = (wire: SessionWire): Session => ({
  sessionToken: wire.session_token,
  walletId: wire.wallet_id,
  endCustomerId: wire.end_customer_id,
  expiresAt: wire.expires_at,
  publishableKey: wire.publishable_key,
  mode: wire.mode,
})

function createBody(params: SessionCreateParams) {
  const customer =
    typeof params.customer === 'string'
      ? params.customer
      : {
          external_id: params.customer.externalId,
          ...(params.customer.email !== undefined ? { email: params.customer.email } : {}),
          ...(params.customer.name !== undefined ? { name: params.customer.name } : {}),
        }
  const scope = params.scope
    ? {
        ...(params.scope.models !== undefined ? { models: params.scope.models } : {}),
        ...(params.scope.maxSpend !== undefined ? { max_spend: usdString('scope.maxSpend', params.scope.maxSpend) } : {}),
      }
    : undefined
  return { customer, ...(scope !== undefined ? { scope } : {}), ...(params.ttlSeconds !== undefined ? { ttl_seconds: params.ttlSeconds } : {}) }
}

export function sessionsResource(transport: Transport) {
  return {
    /** POST /v1/sessions: the end customer and their wallet are created the first time their id is seen. */
    async create(params: SessionCreateParams): Promise<Session> {
      return session(await request<SessionWire>(transport, 'POST', '/v1/sessions', { body: createBody(params) }))
    },
    /** POST /v1/sessions/refresh with the session token: a new token, same scope and lifetime; the old one stops working. */
    async refresh(sessionToken: string): Promise<Session> {
      segment('sessionToken', sessionToken)
      return session(await request<SessionWire>(transport, 'POST', '/v1/sessions/refresh', { bearer: sessionToken }))
    },
    /** DELETE /v1/sessions/{token}: every gateway process refuses it within a second. */
    async revoke(sessionToken: string): Promise<{ revoked: true; endCustomerId: string }> {
      const wire = await request<{ revoked: true; end_customer_id: string }>(transport, 'DELETE', `/v1/sessions/${segment('sessionToken', sessionToken)}`)
      return { revoked: wire.revoked, endCustomerId: wire.end_customer_id }
    },
  }
}
