// One upstream call answered with one JSON body, inside an open exchange (embeddings, images): send, read, meter, and
// finish exactly once from the finally, whatever happened.
import { UpstreamError } from '../errors'
import type { Logger } from '../lib/logger'
import type { ProviderUsage, UpstreamRequest } from '../providers/types'
import { Exchange, type ExchangeDeps, type ExchangeStart } from './exchange'
import { answered, failed, type Outcome } from './outcome'
import { failedAnswer, readUpstreamBody, sendUpstream, type UpstreamSender } from './upstream-call'

export interface JsonCall {
  /** The provider adapter the prepared request goes through. */
  adapter: UpstreamSender
  request: UpstreamRequest
  /** The client's JSON and the provider's usage (null: none reported; the meter's count is billed). Throws if unreadable. */
  read(body: string): { body: string; usage: ProviderUsage | null }
}

export async function answerJson(exchange: Exchange, call: JsonCall, responseHeaders: Record<string, string>, logger: Logger): Promise<Response> {
  const { deadline } = exchange
  const log = { logger, requestId: exchange.requestId, provider: call.adapter.id }
  let outcome: Outcome | null = null
  try {
    const upstream = await sendUpstream(call.adapter, call.request, deadline, log)
    const result = call.read(await readUpstreamBody(upstream, deadline, call.adapter.id))
    if (result.usage) exchange.meter.setProviderUsage(result.usage)
    exchange.sent()
    outcome = answered()
    return new Response(result.body, { status: 200, headers: { ...responseHeaders, 'content-type': 'application/json' } })
  } catch (error) {
    const failure = failedAnswer(error, deadline, log)
    outcome = failure.outcome
    throw failure.error
  } finally {
    // The one place such a request ends.
    exchange.finish(outcome ?? failed(new UpstreamError('The request ended unexpectedly.'), deadline))
  }
}

/** Opens the exchange of a one-shot JSON request (held, or refused before anything is sent), then answers it. */
export async function exchangeJson(
  deps: ExchangeDeps,
  start: Omit<ExchangeStart, 'stream' | 'includeUsage'>,
  call: JsonCall,
  responseHeaders: Record<string, string>,
  logger: Logger,
): Promise<Response> {
  const exchange = await Exchange.open(deps, { ...start, stream: false, includeUsage: false })
  Object.assign(responseHeaders, exchange.headers)
  return answerJson(exchange, call, responseHeaders, logger)
}
