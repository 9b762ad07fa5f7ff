// One configured route served: the body read under the limit, the request priced, the payment taken (./payment.ts), then proxied (./proxy.ts) with PAYMENT-RESPONSE.
import { ClientGoneError, errorResponse, GatewayError, InternalError, InvalidRequestError } from '../../errors'
import type { Price, RouteConfig, UpstreamConfig } from '../../lib/gateway-config/types'
import type { Logger } from '../../lib/logger'
import { readBodyBytes } from '../../lib/request-body'
import type { Catalog } from '../../pricing/catalog'
import { priceRequest } from '../../lib/gateway-config/route-price'
import { responseHeader } from '../../x402/codec'
import { newRequestId } from '../chat/handler'
import { collectPayment, recordSettled, type PaymentGateDeps } from './payment'
import { forward, upstreamRequestHeaders, upstreamUrl } from './proxy'

export interface PaidRouteDeps {
  gate: PaymentGateDeps
  catalog: Catalog
  maxBodyBytes: number
  /** The gateway's UPSTREAM_TIMEOUT_MS, for upstreams without their own `timeout`. */
  defaultTimeoutMs: number
  logger: Logger
}

/** `address`: the client's (src/lib/client-address.ts), which an unpaid request is counted by; null: unknown. */
export type PaidRouteHandler = (request: Request, params: Readonly<Record<string, string | undefined>>, address?: string | null) => Promise<Response>

const utf8 = new TextDecoder()

/** The body as JSON when it is JSON (match rules and token-based pricing read it); null otherwise. */
function parseBodyForPricing(bytes: Uint8Array, contentType: string | null): unknown {
  if (bytes.byteLength === 0) return null
  if (contentType && !/json/i.test(contentType)) return null
  try {
    return JSON.parse(utf8.decode(bytes))
  } catch {
    return null
  }
}

/** The resource an x402 payment is for, as the client asked for it. */
function resourceOf(url: URL, route: RouteConfig, price: Price) {
  return { url: `${url.origin}${url.pathname}`, description: `${route.key} ($${price.usd} per request)`, mimeType: 'application/json' }
}

export function createPaidRouteHandler(route: RouteConfig, upstream: UpstreamConfig, deps: PaidRouteDeps): PaidRouteHandler {
  const timeoutMs = upstream.timeoutMs ?? deps.defaultTimeoutMs
  const hasBody = route.method !== 'GET' && route.method !== 'HEAD'
  return async (request, params, address = null) => {
    const requestId = newRequestId()
    const startedAt = new Date()
    try {
      const url = new URL(request.url)
      const body = hasBody ? await readBodyBytes(request, deps.maxBodyBytes) : null
      const priced = priceRequest(route.pricing, { body: body ? parseBodyForPricing(body, request.headers.get('content-type')) : null, query: url.searchParams, headers: request.headers, params }, deps.catalog)
      if ('problem' in priced) throw new InvalidRequestError(priced.problem, priced.param, 'unpriced_request')
      const context = { requestId, route: route.key, amount: priced.price.atomic, resource: resourceOf(url, route, priced.price), startedAt, clientAddress: address }
      const gate = await collectPayment(deps.gate, request.headers, context)
      if ('response' in gate) return gate.response
      const paid = gate.paid
      const [paymentHeader, paymentValue] = responseHeader(paid.version, paid.settlement)
      let answer: Response
      try {
        answer = await forward(
          { method: request.method, url: upstreamUrl(upstream, route, url, params), headers: upstreamRequestHeaders(request.headers, upstream.headers), body: body && body.byteLength > 0 ? body : null, clientSignal: request.signal },
          upstream,
          timeoutMs,
        )
      } catch (error) {
        recordSettled(deps.gate, context, paid, true)
        if (!(error instanceof GatewayError) || error instanceof ClientGoneError) throw error
        // Paid but not served: the client learns both, and the settlement to claim a refund with.
        const note = `${error.message} The payment was settled (transaction ${paid.settlement.transaction}); quote it and the request id to be refunded.`
        return errorResponse(new GatewayError(error.status, error.type, note, error.code), { 'x-request-id': requestId, [paymentHeader]: paymentValue })
      }
      recordSettled(deps.gate, context, paid, false)
      answer.headers.set('x-request-id', requestId)
      answer.headers.set(paymentHeader, paymentValue)
      return answer
    } catch (error) {
      if (error instanceof GatewayError) return errorResponse(error, { 'x-request-id': requestId })
      deps.logger.error('unhandled error on a paid route', { requestId, route: route.key, error: String((error as Error)?.stack ?? error) })
      return errorResponse(new InternalError(), { 'x-request-id': requestId })
    }
  }
}
