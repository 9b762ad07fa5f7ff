// The Messages API plugin: POST /v1/messages and /v1/messages/count_tokens (also under /llm/v1), documented here; served by ./handler.ts.
import { Elysia } from 'elysia'
import { MessagesModel } from '../../anthropic/messages-request'
import { CHAT_PREFIXES } from '../chat'
import type { X402Cors } from '../../x402/cors'
import { routePreflight, type OriginLookup } from '../chat/cors'
import type { MessagesHandler, MessagesHandlers } from './handler'

const MESSAGES = '/messages'
const COUNT_TOKENS = '/messages/count_tokens'

const security: Record<string, string[]>[] = [{ apiKey: [] }, { bearer: [] }]

/**
 * The routes as Elysia sees them: for Swagger, and for requests handled through app.handle. A listening server answers
 * them from Bun's route table instead (messagesRoutes below), as it does chat; both call the same handlers.
 */
export function messagesPlugin(handlers: MessagesHandlers) {
  const routes = (prefix: string) =>
    new Elysia({ name: `messages${prefix}`, prefix })
      .post(MESSAGES, ({ request, server }) => handlers.messages(request, server), {
        parse: 'none',
        detail: {
          summary: 'Create a message (Anthropic Messages API, streaming or not): Claude as it is, other models translated',
          tags: ['messages'],
          security,
          requestBody: { required: true, content: { 'application/json': { schema: MessagesModel.request as never } } },
        },
      })
      .post(COUNT_TOKENS, ({ request, server }) => handlers.countTokens(request, server), {
        parse: 'none',
        detail: {
          summary: "Count a message's input tokens (free): Anthropic's count for Claude, our tiktoken count for other models",
          tags: ['messages'],
          security,
          requestBody: { required: true, content: { 'application/json': { schema: MessagesModel.countTokens as never } } },
          responses: { 200: { description: 'The input tokens', content: { 'application/json': { schema: MessagesModel.countTokensAnswer as never } } } },
        },
      })
  return new Elysia({ name: 'messages' }).use(routes(CHAT_PREFIXES[0])).use(routes(CHAT_PREFIXES[1]))
}

/** Bun.serve routes for the Messages paths, beside chat's (src/modules/chat/index.ts); with an origin lookup, CORS preflights too. */
export function messagesRoutes(handlers: MessagesHandlers, allowedOrigin?: OriginLookup, x402Cors?: X402Cors | null) {
  const answer = routePreflight(allowedOrigin, x402Cors)
  const preflight = answer ? { OPTIONS: answer } : {}
  const entries: [string, { POST: MessagesHandler; OPTIONS?: (request: Request) => Promise<Response> }][] = []
  for (const prefix of CHAT_PREFIXES) {
    entries.push([`${prefix}${MESSAGES}`, { POST: (request, server) => handlers.messages(request, server), ...preflight }])
    entries.push([`${prefix}${COUNT_TOKENS}`, { POST: (request, server) => handlers.countTokens(request, server), ...preflight }])
  }
  return Object.fromEntries(entries)
}
