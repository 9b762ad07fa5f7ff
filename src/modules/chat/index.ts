// The chat plugin: POST /v1/chat/completions and /llm/v1/chat/completions, authenticated, validated, then handed to the service.
import { Elysia } from 'elysia'
import { authenticatedJson, authPlugin } from '../auth'
import type { Authenticator } from '../auth/service'
import { ChatModel } from '../../openai/chat-request'
import { completeChat, type ChatDeps } from './service'

export const CHAT_PREFIXES = ['/v1', '/llm/v1'] as const

export function chatPlugin(deps: ChatDeps, authenticate: Authenticator, maxBodyBytes: number) {
  const parse = authenticatedJson(authenticate, maxBodyBytes)
  const routes = (prefix: string) =>
    new Elysia({ name: `chat${prefix}`, prefix })
      .use(authPlugin(authenticate))
      .post(
        '/chat/completions',
        ({ body, principal, request, set }) => {
          const requestId = set.headers['x-request-id'] as string
          return completeChat(
            deps,
            { requestId, principal, request: body, clientSignal: request.signal, startedAt: performance.now() },
            { 'x-request-id': requestId },
          )
        },
        {
          parse,
          body: ChatModel.request,
          detail: {
            summary: 'Create a chat completion (OpenAI-compatible, streaming or not)',
            tags: ['chat'],
            security: [{ bearer: [] }, { apiKey: [] }],
          },
        },
      )
  return new Elysia({ name: 'chat' }).use(routes(CHAT_PREFIXES[0])).use(routes(CHAT_PREFIXES[1]))
}
