// One upstream call answered with one JSON body, inside an open exchange (embeddings, images): send, read, meter, and
// finish exactly once from the finally, whatever happened.
import { ClientGoneError, GatewayError, UpstreamError } from '../errors'
import type { Logger } from '../lib/logger'
import type { ProviderUsage } from '../providers/types'
import type { Exchange } from './exchange'
import { answered, clientGone, failed, type Outcome } from './outcome'
import { timeoutError } from './relay'

/** An upstream error body is read for its message only; a huge one is not worth holding. */
const MAX_ERROR_BODY_CHARS = 64 * 1024

export interface JsonCall {
  /** Names the upstream in errors and logs. */
  provider: string
  send(signal: AbortSignal): Promise<Response>
  readError(status: number, body: string, headers: Headers): GatewayError
  /** The client's JSON and the provider's usage (null: none reported; the meter's count is billed). Throws if unreadable. */
  read(body: string): { body: string; usage: ProviderUsage | null }
}

export async function answerJson(exchange: Exchange, call: JsonCall, responseHeaders: Record<string, string>, logger: Logger): Promise<Response> {
  const { deadline } = exchange
  let outcome: Outcome | null = null
  try {
    let upstream: Response
    try {
      upstream = await call.send(deadline.signal)
    } catch (error) {
      if (error instanceof GatewayError) throw error
      if (deadline.timedOut) throw timeoutError(deadline)
      if (deadline.reason === 'client_gone') throw new ClientGoneError()
      logger.warn('upstream unreachable', { requestId: exchange.requestId, provider: call.provider, error: (error as Error).message })
      throw new UpstreamError(`The ${call.provider} upstream could not be reached.`, 'upstream_unreachable')
    }
    if (!upstream.ok) {
      const body = await upstream.text().catch(() => '')
      throw call.readError(upstream.status, body.slice(0, MAX_ERROR_BODY_CHARS), upstream.headers)
    }
    deadline.firstByte()
    let text: string
    try {
      text = await upstream.text()
    } catch (error) {
      if (deadline.timedOut) throw timeoutError(deadline)
      if (deadline.reason === 'client_gone') throw new ClientGoneError()
      throw new UpstreamError(`The ${call.provider} upstream connection broke: ${(error as Error).message}`, 'upstream_disconnected')
    }
    const result = call.read(text)
    if (result.usage) exchange.meter.setProviderUsage(result.usage)
    exchange.sent()
    outcome = answered()
    return new Response(result.body, { status: 200, headers: { ...responseHeaders, 'content-type': 'application/json' } })
  } catch (error) {
    if (!(error instanceof GatewayError)) {
      logger.error('unexpected error while answering', { requestId: exchange.requestId, provider: call.provider, error: String((error as Error)?.stack ?? error) })
    }
    const gatewayError = error instanceof GatewayError ? error : new UpstreamError(`The ${call.provider} upstream answer could not be read.`, 'upstream_bad_response')
    outcome = gatewayError instanceof ClientGoneError ? clientGone() : failed(gatewayError, deadline)
    throw outcome.status === 'client_aborted' ? new ClientGoneError() : gatewayError
  } finally {
    // The one place this request ends.
    exchange.finish(outcome ?? failed(new UpstreamError('The request ended unexpectedly.'), deadline))
  }
}
