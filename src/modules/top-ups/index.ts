// The top-ups plugin: POST /v1/wallet/top-up (session token) — a Stripe PaymentIntent that credits the session's wallet once paid.
import { Elysia } from 'elysia'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import { requireSession, sessionPlugin, type PlatformAuth } from '../auth/platform'
import { TopUpModel } from './model'
import { createTopUp, type TopUpServiceDeps } from './service'

export { topUpEvents, type TopUpEventDeps } from './webhook'

export interface TopUpsDeps extends TopUpServiceDeps {
  auth: PlatformAuth
}

/** `{"amount_usd":"10.00"}` needs a few bytes. */
const TOP_UP_MAX_BODY_BYTES = 4096

export function topUpsPlugin(deps: TopUpsDeps) {
  const { auth, ...service } = deps
  return new Elysia({ name: 'top-ups' }).use(sessionPlugin(auth)).post(
    '/v1/wallet/top-up',
    ({ session, body, headers }) => createTopUp(service, session, body.amount_usd, headers['idempotency-key']),
    {
      // The token is checked before the body is read (the lookup is cached, so the derive's second one is free).
      parse: async ({ request, headers }) => {
        await requireSession(auth, headers, request)
        return parseJsonBody(await readBodyText(request, TOP_UP_MAX_BODY_BYTES))
      },
      headers: TopUpModel.headers,
      body: TopUpModel.create,
      response: TopUpModel.topUp,
      detail: {
        tags: ['end-user wallets'],
        summary: "Start a top-up of the session's wallet (session token): a Stripe PaymentIntent in the session's mode; the wallet is credited the net of the markup once Stripe confirms it",
        security: [{ bearer: [] }],
      },
    },
  )
}
