// The chat route's one handler, served by Bun's route table directly (and through Elysia for app.handle and Swagger):
// the request id, the body limit, the key, the body, the schema, then the exchange; every refusal in the one error shape.
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Server } from 'bun'
import { errorResponse, GatewayError, InternalError } from '../../errors'
import type { Logger } from '../../lib/logger'
import { ChatModel, type ChatRequest } from '../../openai/chat-request'
import type { PlatformAuth } from '../auth/platform'
import type { Authenticator } from '../auth/service'
import { acceptRequest } from './accept'
import { corsHeaders, type OriginLookup } from './cors'
import { observeRequest } from './observed'
import { completeChat, type ChatDeps } from './service'
import { x402Chat, type X402ChatOptions } from './x402'
import { withGrant } from '../../x402/cors'
import { resolveClientAddress } from '../../lib/client-address'
import { extractApiKeyFrom } from '../auth/service'
import { PayloadTooLargeError } from '../../errors'
import { describeValueError } from '../../lib/framework-errors'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'

export interface ChatHandlerOptions {
  deps: ChatDeps
  authenticate: Authenticator
  maxBodyBytes: number
  trustForwardedFor: boolean
  logger: Logger
  /** End users' session tokens (es_…), paid from their wallets; without it only API keys are accepted. */
  sessions?: PlatformAuth
  /** Origins some project allows: a refusal before the session is known (401) is still readable by such a page. */
  allowedOrigin?: OriginLookup
  /** gateway.x402_chat: a request without a key is paid over x402 (upto or exact) instead of refused. */
  x402?: X402ChatOptions
}

export type ChatHandler = (request: Request, server: Pick<Server<unknown>, 'requestIP'> | null) => Promise<Response>

/** The route label of chat requests in meterway_requests_total, whichever prefix (/v1, /llm/v1) they came by. */
const CHAT_ROUTE = 'chat.completions'
const CHAT_SPAN = 'POST /v1/chat/completions'

export const newRequestId = () => `req_${crypto.randomUUID().replaceAll('-', '')}`

/**
 * Elysia's per-request machinery (hooks, derive, its body decoder, response mapping) cost the chat route about a third of
 * its CPU (bun --cpu-prof-md, bench/run.ts); this handler does the same checks in the same order, once: the schema is
 * compiled at boot, the client address is resolved only when an address is being limited, and the principal is
 * synchronous on a cache hit.
 */
export function createChatHandler(o: ChatHandlerOptions): ChatHandler {
  const schema = TypeCompiler.Compile(ChatModel.request)
  const { deps, authenticate, maxBodyBytes, trustForwardedFor, logger, sessions, allowedOrigin } = o
  const accept = { authenticate, maxBodyBytes, trustForwardedFor, sessions }

  /** A browser's page must be able to read why it was refused (session_expired, invalid_api_key) to react to it. */
  async function readableByPage(request: Request, headers: Record<string, string>): Promise<void> {
    const origin = request.headers.get('origin')
    if (origin === null || !allowedOrigin || headers['access-control-allow-origin'] !== undefined) return
    if (await allowedOrigin(origin).catch(() => false)) Object.assign(headers, corsHeaders(origin))
  }

  return async (request, server) => {
    const startedAt = performance.now()
    const requestId = newRequestId()
    const headers: Record<string, string> = { 'x-request-id': requestId }
    const observed = observeRequest(CHAT_ROUTE, CHAT_SPAN, request, requestId)
    const paying = o.x402 !== undefined && extractApiKeyFrom(request.headers) === undefined
    // A page paying with x402 (gateway.cors_origins) reads every answer, refusals included.
    const cors = paying ? o.x402?.cors : null
    const answered = cors ? (response: Response) => observed.answered(withGrant(cors, request, response)) : observed.answered
    try {
      if (o.x402 && paying) {
        // No key: paid per request over x402. The body is checked as for a key, then quoted and paid.
        const length = request.headers.get('content-length')
        if (length !== null && Number(length) > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes)
        const body = parseJsonBody(await readBodyText(request, maxBodyBytes))
        if (!schema.Check(body)) throw describeValueError(schema.Errors(body).First())
        const call = { requestId, request: body as ChatRequest, client: request, startedAt, trace: observed.trace }
        const x402 = o.x402
        const model = deps.catalog.find(call.request.model)?.id ?? 'none'
        const address = x402.unpaidRpm ? resolveClientAddress(request, server, trustForwardedFor) : null
        return answered(await observed.run(model, 'x402', () => x402Chat(deps, x402, call, request, headers, address)))
      }
      const { principal, body } = await acceptRequest<ChatRequest>(request, server, schema, headers, accept)
      const call = { requestId, principal, request: body, client: request, startedAt, trace: observed.trace }
      const model = deps.catalog.find(call.request.model)?.id ?? 'none'
      return answered(await observed.run(model, principal.accountId, () => completeChat(deps, call, headers)))
    } catch (error) {
      if (!(error instanceof GatewayError)) {
        logger.error('unhandled error', { requestId, path: new URL(request.url).pathname, error: String((error as Error)?.stack ?? error) })
        return answered(errorResponse(new InternalError(), headers))
      }
      if (error.status === 401) await readableByPage(request, headers)
      return answered(errorResponse(error, headers))
    }
  }
}
