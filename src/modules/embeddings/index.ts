// The embeddings plugin: POST /v1/embeddings and /llm/v1/embeddings in OpenAI's format, billed per input token.
import { Elysia } from 'elysia'
import { authenticatedJson, authPlugin } from '../auth'
import type { Authenticator } from '../auth/service'
import { EmbeddingsModel } from './model'
import { createEmbeddings, type EmbeddingsDeps } from './service'

export interface EmbeddingsOptions {
  deps: EmbeddingsDeps
  authenticate: Authenticator
  maxBodyBytes: number
}

export const EMBEDDINGS_PREFIXES = ['/v1', '/llm/v1'] as const

export function embeddingsPlugin({ deps, authenticate, maxBodyBytes }: EmbeddingsOptions) {
  const routes = (prefix: string) =>
    new Elysia({ name: `embeddings${prefix}`, prefix }).use(authPlugin(authenticate)).post(
      '/embeddings',
      ({ body, principal, request, set }) => {
        const requestId = set.headers['x-request-id'] as string
        const call = { requestId, principal, request: body, clientSignal: request.signal, startedAt: performance.now() }
        return createEmbeddings(deps, call, { 'x-request-id': requestId })
      },
      {
        parse: authenticatedJson(authenticate, maxBodyBytes),
        body: EmbeddingsModel.request,
        detail: {
          summary: 'Create embeddings (OpenAI-compatible), billed per input token',
          tags: ['embeddings'],
          security: [{ bearer: [] }, { apiKey: [] }],
        },
      },
    )
  return new Elysia({ name: 'embeddings' }).use(routes(EMBEDDINGS_PREFIXES[0])).use(routes(EMBEDDINGS_PREFIXES[1]))
}
