// One upstream call's send and read, with every way they fail as a typed error: the provider's error answer, a timeout, the client leaving, no route.
import { ClientGoneError, GatewayError, UpstreamError } from '../errors'
import type { UpstreamDeadline } from './deadline'
import { clientGone, failed, type Outcome } from './outcome'
import { timeoutError } from './relay-contract'
import type { Logger } from '../lib/logger'
import type { RequestTrace } from '../lib/tracing'
import type { UpstreamRequest } from '../providers/types'

/** What a call is sent through: any provider adapter (chat, embeddings, images) has this shape. */
export interface UpstreamSender {
  readonly id: string
  send(request: UpstreamRequest, signal: AbortSignal): Promise<Response>
  readError(status: number, body: string, headers: Headers): GatewayError
}

export { ClientGoneError }

/** An upstream error body is read for its message only; a huge one is not worth holding. */
const MAX_ERROR_BODY_CHARS = 64 * 1024

/** Sends the request; resolves with a successful answer, or throws the typed error for whatever went wrong. */
export async function sendUpstream(
  adapter: UpstreamSender,
  request: UpstreamRequest,
  deadline: UpstreamDeadline,
  log: { logger: Logger; requestId: string; trace?: RequestTrace | undefined },
): Promise<Response> {
  let upstream: Response
  const endSpan = log.trace?.child('upstream', { 'meterway.provider': adapter.id })
  try {
    upstream = await adapter.send(request, deadline.signal)
    endSpan?.(upstream.ok ? undefined : `HTTP ${upstream.status}`)
  } catch (error) {
    endSpan?.(error)
    if (error instanceof GatewayError) throw error
    if (deadline.timedOut) throw timeoutError(deadline)
    if (deadline.reason === 'client_gone') throw new ClientGoneError()
    log.logger.warn('upstream unreachable', { requestId: log.requestId, provider: adapter.id, error: (error as Error).message })
    throw new UpstreamError(`The ${adapter.id} upstream could not be reached.`, 'upstream_unreachable')
  }
  if (!upstream.ok) {
    const body = await upstream.text().catch(() => '')
    throw adapter.readError(upstream.status, body.slice(0, MAX_ERROR_BODY_CHARS), upstream.headers)
  }
  return upstream
}

/** Reads a whole (non-streamed) answer. */
export async function readUpstreamBody(upstream: Response, deadline: UpstreamDeadline, provider: string): Promise<string> {
  deadline.firstByte()
  try {
    return await upstream.text()
  } catch (error) {
    if (deadline.timedOut) throw timeoutError(deadline)
    if (deadline.reason === 'client_gone') throw new ClientGoneError()
    throw new UpstreamError(`The ${provider} upstream connection broke: ${(error as Error).message}`, 'upstream_disconnected')
  }
}

/**
 * What an answer that failed becomes: the outcome its exchange finishes with, and the error the client gets. An error
 * that is not one of ours is logged and answered as the upstream's bad answer.
 */
export function failedAnswer(error: unknown, deadline: UpstreamDeadline, log: { logger: Logger; requestId: string; provider: string }): { outcome: Outcome; error: GatewayError } {
  if (!(error instanceof GatewayError)) {
    log.logger.error('unexpected error while answering', { requestId: log.requestId, provider: log.provider, error: String((error as Error)?.stack ?? error) })
  }
  const gatewayError = error instanceof GatewayError ? error : new UpstreamError(`The ${log.provider} upstream answer could not be read.`, 'upstream_bad_response')
  const outcome = gatewayError instanceof ClientGoneError ? clientGone() : failed(gatewayError, deadline)
  return { outcome, error: outcome.status === 'client_aborted' ? new ClientGoneError() : gatewayError }
}
