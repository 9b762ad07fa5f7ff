// The Messages API routes' handlers, served by Bun's route table directly (and through Elysia for app.handle and Swagger):
// the request id, the body limit, the key (x-api-key or Bearer), the body, the schema, then the service; every refusal in Anthropic's error shape.
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { anthropicErrorResponse } from '../../anthropic/errors'
import { MessagesModel, type CountTokensRequest, type MessagesRequest } from '../../anthropic/messages-request'
import { GatewayError, InternalError, PayloadTooLargeError } from '../../errors'
import { describeValueError } from '../../lib/framework-errors'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import type { Logger } from '../../lib/logger'
import type { RequestTrace } from '../../lib/tracing'
import type { RequestServer } from '../auth/request-principal'
import { extractApiKeyFrom, type Authenticator, type Principal } from '../auth/service'
import type { PlatformAuth } from '../auth/platform'
import { acceptRequest } from '../chat/accept'
import { newRequestId } from '../chat/handler'
import { observeRequest } from '../chat/observed'
import type { ChatDeps } from '../chat/service'
import { countTokens } from './count-tokens'
import { createMessage } from './service'
import { x402Messages } from './x402'
import { withGrant } from '../../x402/cors'
import { resolveClientAddress } from '../../lib/client-address'
import type { X402ChatOptions } from '../chat/x402'

export interface MessagesHandlerOptions {
  deps: ChatDeps
  authenticate: Authenticator
  maxBodyBytes: number
  trustForwardedFor: boolean
  logger: Logger
  /** End users' session tokens, as on the chat route (src/modules/chat/handler.ts). */
  sessions?: PlatformAuth
  /** A `type: metered` "POST /v1/messages" route: a request without a key is paid over x402 (upto or exact). */
  x402?: X402ChatOptions
}

export type MessagesHandler = (request: Request, server: RequestServer) => Promise<Response>

export interface MessagesHandlers {
  messages: MessagesHandler
  countTokens: MessagesHandler
}

interface Accepted<T> {
  requestId: string
  principal: Principal
  body: T
  request: Request
  startedAt: number
  headers: Record<string, string>
  trace: RequestTrace | undefined
}

export function createMessagesHandlers(o: MessagesHandlerOptions): MessagesHandlers {
  const { deps, authenticate, maxBodyBytes, trustForwardedFor, logger, sessions, x402 } = o
  const accept = { authenticate, maxBodyBytes, trustForwardedFor, sessions }

  /** The checks every Messages route makes, in the chat route's order, then `run`; errors answered in Anthropic's shape. */
  function route<T>(name: string, schema: TSchema, run: (accepted: Accepted<T>) => Promise<Response>, paid?: (accepted: Omit<Accepted<T>, 'principal'>, address: string | null) => Promise<Response>): MessagesHandler {
    const compiled = TypeCompiler.Compile(schema)
    const spanName = `POST /v1/${name.replace('.', '/')}`
    return async (request, server) => {
      const startedAt = performance.now()
      const requestId = newRequestId()
      // Anthropic's SDKs read the id from `request-id` (message._request_id); ours is x-request-id everywhere.
      const headers: Record<string, string> = { 'x-request-id': requestId, 'request-id': requestId }
      const observed = observeRequest(name, spanName, request, requestId)
      const paying = paid !== undefined && extractApiKeyFrom(request.headers) === undefined
      // A page paying with x402 (gateway.cors_origins) reads every answer, refusals included.
      const cors = paying ? x402?.cors : null
      const answered = cors ? (response: Response) => observed.answered(withGrant(cors, request, response)) : observed.answered
      try {
        if (paid && paying) {
          // No key: paid per request over x402. The body is checked as for a key, then quoted and paid.
          const length = request.headers.get('content-length')
          if (length !== null && Number(length) > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes)
          const body = parseJsonBody(await readBodyText(request, maxBodyBytes))
          if (!compiled.Check(body)) throw describeValueError(compiled.Errors(body).First())
          const model = deps.catalog.find((body as { model: string }).model)?.id ?? 'none'
          const address = x402?.unpaidRpm ? resolveClientAddress(request, server, trustForwardedFor) : null
          return answered(await observed.run(model, 'x402', () => paid({ requestId, body: body as T, request, startedAt, headers, trace: observed.trace }, address)))
        }
        const { principal, body } = await acceptRequest<T>(request, server, compiled, headers, accept)
        const accepted = { requestId, principal, body, request, startedAt, headers, trace: observed.trace }
        const model = deps.catalog.find((body as { model: string }).model)?.id ?? 'none'
        return answered(await observed.run(model, principal.accountId, () => run(accepted)))
      } catch (error) {
        if (!(error instanceof GatewayError)) {
          logger.error('unhandled error', { requestId, path: new URL(request.url).pathname, error: String((error as Error)?.stack ?? error) })
          return answered(anthropicErrorResponse(new InternalError(), headers))
        }
        return answered(anthropicErrorResponse(error, headers))
      }
    }
  }

  return {
    messages: route<MessagesRequest>(
      'messages',
      MessagesModel.request,
      (a) => createMessage(deps, { requestId: a.requestId, principal: a.principal, body: a.body, client: a.request, startedAt: a.startedAt, trace: a.trace }, a.headers),
      x402 ? (a, address) => x402Messages(deps, x402, { requestId: a.requestId, body: a.body, client: a.request, startedAt: a.startedAt, trace: a.trace }, a.request, a.headers, address) : undefined,
    ),
    // Free: authenticated, but no admission and nothing held or billed.
    countTokens: route<CountTokensRequest>('messages.count_tokens', MessagesModel.countTokens, async (a) => {
      const answer = await countTokens(deps, { requestId: a.requestId, body: a.body, client: a.request })
      return new Response(JSON.stringify(answer), { status: 200, headers: { ...a.headers, 'content-type': 'application/json' } })
    }),
  }
}
