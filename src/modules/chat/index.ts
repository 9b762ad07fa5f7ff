// The chat plugin: POST /v1/chat/completions and /llm/v1/chat/completions, documented here; served by the one chat handler (./handler.ts).
import { Elysia } from 'elysia'
import { ChatModel } from '../../openai/chat-request'
import type { ChatHandler } from './handler'
import type { X402Cors } from '../../x402/cors'
import { routePreflight, type OriginLookup } from './cors'

export const CHAT_PREFIXES = ['/v1', '/llm/v1'] as const
export const CHAT_PATHS = CHAT_PREFIXES.map((prefix) => `${prefix}/chat/completions`)

/**
 * The routes as Elysia sees them: for Swagger, and for requests handled through app.handle. A listening server
 * answers them from Bun's route table instead (chatRoutes below), without Elysia's per-request work; both call the
 * same handler, which reads the body itself (after the key).
 */
export function chatPlugin(handler: ChatHandler, allowedOrigin?: OriginLookup, x402Cors?: X402Cors | null) {
  const preflight = routePreflight(allowedOrigin, x402Cors)
  const routes = (prefix: string) => {
    const plugin = new Elysia({ name: `chat${prefix}`, prefix })
    return (preflight ? plugin.options('/chat/completions', ({ request }) => preflight(request)) : plugin).post('/chat/completions', ({ request, server }) => handler(request, server), {
      parse: 'none',
      detail: {
        summary: 'Create a chat completion (OpenAI-compatible, streaming or not)',
        tags: ['chat'],
        security: [{ bearer: [] }, { apiKey: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: ChatModel.request as never } } },
      },
    })
  }
  return new Elysia({ name: 'chat' }).use(routes(CHAT_PREFIXES[0])).use(routes(CHAT_PREFIXES[1]))
}

/**
 * Bun.serve routes for the chat paths: they take precedence over Elysia's routing for a listening server. With an
 * origin lookup (platform mode), browsers' CORS preflights are answered here too.
 */
export function chatRoutes(handler: ChatHandler, allowedOrigin?: OriginLookup, x402Cors?: X402Cors | null) {
  const preflight = routePreflight(allowedOrigin, x402Cors)
  return Object.fromEntries(
    CHAT_PATHS.map((path) => [
      path,
      { POST: (request: Request, server: Parameters<ChatHandler>[1]) => handler(request, server), ...(preflight ? { OPTIONS: preflight } : {}) },
    ]),
  )
}
