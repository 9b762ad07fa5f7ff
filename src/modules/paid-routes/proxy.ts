// Sends a paid request on to its upstream and streams the answer back unchanged: credentials and payment headers dropped, hop-by-hop handled, the upstream's timeout applied.
import { ClientGoneError, UpstreamError, UpstreamTimeoutError } from '../../errors'
import type { UpstreamConfig } from '../../lib/gateway-config/types'
import { PAYMENT_HEADERS } from '../../x402/codec'

/** Connection-level headers (RFC 9110 §7.6.1) and what fetch sets itself: never copied from one hop to the next. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length']
/** The client's credentials: for the gateway (or nobody), never for the upstream, which gets the config's own headers. */
const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'proxy-authorization']
/** Dropped from the request: fetch negotiates compression itself (and decompresses), so the answer's length and encoding are fetch's. */
const REQUEST_DROPPED = new Set([...HOP_BY_HOP, ...CLIENT_CREDENTIALS, ...PAYMENT_HEADERS, 'accept-encoding'])
/** Dropped from the answer: hop-by-hop, and the encoding and length of a body fetch already decompressed. */
const RESPONSE_DROPPED = new Set([...HOP_BY_HOP, 'content-encoding'])

/** Headers named in a Connection header are hop-by-hop too. */
function connectionListed(headers: Headers): Set<string> {
  return new Set((headers.get('connection') ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
}

/** The request's headers as the upstream gets them: the client's, less credentials, payment and hop-by-hop, plus the upstream's configured ones. */
export function upstreamRequestHeaders(client: Headers, configured: Readonly<Record<string, string>>): Headers {
  const listed = connectionListed(client)
  const headers = new Headers()
  client.forEach((value, name) => {
    if (!REQUEST_DROPPED.has(name) && !listed.has(name)) headers.append(name, value)
  })
  for (const [name, value] of Object.entries(configured)) headers.set(name, value)
  return headers
}

/** The upstream's answer headers as the client gets them. */
export function clientResponseHeaders(upstream: Headers): Headers {
  const listed = connectionListed(upstream)
  const headers = new Headers()
  upstream.forEach((value, name) => {
    if (!RESPONSE_DROPPED.has(name) && !listed.has(name)) headers.append(name, value)
  })
  return headers
}

/** The upstream URL of a request: the route's path with its :params filled in (or the path as asked when the route keeps it), the query kept. */
export function upstreamUrl(upstream: UpstreamConfig, route: { path: string; upstreamPath: string }, requestUrl: URL, params: Readonly<Record<string, string | undefined>>): string {
  const path = route.upstreamPath === route.path ? requestUrl.pathname : route.upstreamPath.replace(/:([A-Za-z0-9_]+)/g, (whole, name: string) => (params[name] === undefined ? whole : encodeURIComponent(params[name]!)))
  return `${upstream.url}${path}${requestUrl.search}`
}

export interface ForwardRequest {
  method: string
  url: string
  headers: Headers
  body: Uint8Array | null
  /** The client's own signal: the upstream call stops when the client leaves. */
  clientSignal: AbortSignal
}

/**
 * Sends the request and resolves with the upstream's answer as it arrives (status and headers as sent, body streamed
 * chunk by chunk as it comes), or throws UpstreamTimeoutError (504), UpstreamError (502) or ClientGoneError. The
 * timeout covers the whole exchange: an answer still streaming when it runs out is cut.
 */
export async function forward(request: ForwardRequest, upstream: UpstreamConfig, timeoutMs: number): Promise<Response> {
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new Error(`upstream timeout after ${timeoutMs} ms`))
  }, timeoutMs)
  const onClientGone = () => controller.abort(new Error('client gone'))
  request.clientSignal.addEventListener('abort', onClientGone, { once: true })
  let finished = false
  const finish = () => {
    if (finished) return
    finished = true
    clearTimeout(timer)
    request.clientSignal.removeEventListener('abort', onClientGone)
  }
  let answer: Response
  try {
    answer = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual', signal: controller.signal })
  } catch (error) {
    finish()
    if (timedOut) throw new UpstreamTimeoutError(`The ${upstream.name} upstream did not answer within ${timeoutMs / 1000} s.`)
    if (request.clientSignal.aborted) throw new ClientGoneError()
    throw new UpstreamError(`The ${upstream.name} upstream could not be reached: ${(error as Error).message}`, 'upstream_unreachable')
  }
  const headers = clientResponseHeaders(answer.headers)
  if (!answer.body) {
    finish()
    return new Response(null, { status: answer.status, statusText: answer.statusText, headers })
  }
  const reader = answer.body.getReader()
  // Pulled one chunk at a time (no high-water mark): each chunk goes out as the upstream sends it, SSE included.
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(out) {
        try {
          const { done, value } = await reader.read()
          if (done) {
            finish()
            out.close()
          } else out.enqueue(value)
        } catch (error) {
          finish()
          out.error(timedOut ? new Error(`The ${upstream.name} upstream did not finish within ${timeoutMs / 1000} s.`) : error)
        }
      },
      cancel(reason) {
        finish()
        controller.abort(reason)
        return reader.cancel(reason).catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
  return new Response(body, { status: answer.status, statusText: answer.statusText, headers })
}
