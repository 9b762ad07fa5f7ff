// The embeddings plugin: POST /v1/embeddings and /llm/v1/embeddings in OpenAI's format, billed per input token.
import { Elysia } from 'elysia'
import { authenticatedJson, authPlugin, type SessionRouteAuth } from '../auth'
import { preflightHandler } from '../chat/cors'
import type { Authenticator } from '../auth/service'
import { EmbeddingsModel } from './model'
import { createEmbeddings, type EmbeddingsDeps } from './service'

export interface EmbeddingsOptions {
  deps: EmbeddingsDeps
  authenticate: Authenticator
  maxBodyBytes: number
  /** Platform mode: end users' session tokens too, paid from their wallets, with the chat route's CORS (preflights included). */
  sessions?: SessionRouteAuth
}

export const EMBEDDINGS_PREFIXES = ['/v1', '/llm/v1'] as const

export function embeddingsPlugin({ deps, authenticate, maxBodyBytes, sessions }: EmbeddingsOptions) {
  const preflight = sessions ? preflightHandler(sessions.allowedOrigin) : null
  const routes = (prefix: string) => {
    const plugin = new Elysia({ name: `embeddings${prefix}`, prefix })
    // Before the key's derive: a browser's preflight carries no key. (Elysia's route methods add to the instance.)
    if (preflight) plugin.options('/embeddings', ({ request }) => preflight(request), { detail: { hide: true } })
    return plugin.use(authPlugin(authenticate)).post(
      '/embeddings',
      ({ body, principal, request, set }) => {
        const requestId = set.headers['x-request-id'] as string
        const call = { requestId, principal, request: body, client: request, startedAt: performance.now() }
        return createEmbeddings(deps, call, { 'x-request-id': requestId })
      },
      {
        parse: authenticatedJson(authenticate, maxBodyBytes, sessions),
        body: EmbeddingsModel.request,
        detail: {
          summary: 'Create embeddings (OpenAI-compatible), billed per input token',
          tags: ['embeddings'],
          security: [{ bearer: [] }, { apiKey: [] }],
        },
      },
    )
  }
  return new Elysia({ name: 'embeddings' }).use(routes(EMBEDDINGS_PREFIXES[0])).use(routes(EMBEDDINGS_PREFIXES[1]))
}
