// A `type: metered` "POST /v1/messages" route paid over x402: the Messages request's worst case quoted (upto, exact), answered by the route's Anthropic-format upstream, settled by the tokens used.
import type { MessagesRequest } from '../../anthropic/messages-request'
import type { Principal } from '../auth/service'
import type { ChatDeps } from '../chat/service'
import { limitUnpaidQuote, x402Metered, type X402ChatOptions } from '../chat/x402'
import { createMessage, planMessage, type MessagesCall } from './service'

const ROUTE = 'POST /v1/messages'

/** The quote's principal: no session, so the model is any catalog model (the payer's own principal serves it). */
const QUOTE: Principal = { accountId: 'x402', keyId: 'x402', mode: 'live', kind: 'static', subscriptionStatus: 'none', spendCapNano: null, limits: { rpm: null, tpm: null }, billingMode: 'postpaid' }

/** Quotes the exchange's hold for this body (max_tokens is required, so the cap is the client's), then pays and serves it. */
export async function x402Messages(messagesDeps: ChatDeps, o: X402ChatOptions, base: Omit<MessagesCall, 'principal'>, rawRequest: Request, headers: Record<string, string>, clientAddress: string | null = null): Promise<Response> {
  await limitUnpaidQuote(o, rawRequest, clientAddress)
  const deps = o.providers ? { ...messagesDeps, providers: o.providers } : messagesDeps
  const { plan } = await planMessage(deps, { requestId: base.requestId, principal: QUOTE, body: base.body as MessagesRequest }, false)
  return x402Metered(o, {
    requestId: base.requestId,
    route: ROUTE,
    description: 'Message paid by the tokens it uses',
    holdNano: BigInt(plan.estimate.holdNano),
    serve: (principal, payment) => createMessage(deps, { ...base, principal, payment }, headers),
  }, rawRequest, headers)
}
