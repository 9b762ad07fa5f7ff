// The images plugin: POST /v1/images/generations and /llm/v1/images/generations in OpenAI's format, billed per image or by tokens.
import { Elysia } from 'elysia'
import { authenticatedJson, authPlugin, type SessionRouteAuth } from '../auth'
import { preflightHandler } from '../chat/cors'
import type { Authenticator } from '../auth/service'
import { ImagesModel } from './model'
import { generateImages, type ImagesDeps } from './service'

export interface ImagesOptions {
  deps: ImagesDeps
  authenticate: Authenticator
  maxBodyBytes: number
  /** Platform mode: end users' session tokens too, paid from their wallets, with the chat route's CORS (preflights included). */
  sessions?: SessionRouteAuth
}

export const IMAGES_PREFIXES = ['/v1', '/llm/v1'] as const

export function imagesPlugin({ deps, authenticate, maxBodyBytes, sessions }: ImagesOptions) {
  const preflight = sessions ? preflightHandler(sessions.allowedOrigin) : null
  const routes = (prefix: string) => {
    const plugin = new Elysia({ name: `images${prefix}`, prefix })
    // Before the key's derive: a browser's preflight carries no key. (Elysia's route methods add to the instance.)
    if (preflight) plugin.options('/images/generations', ({ request }) => preflight(request), { detail: { hide: true } })
    return plugin.use(authPlugin(authenticate)).post(
      '/images/generations',
      ({ body, principal, request, set }) => {
        const requestId = set.headers['x-request-id'] as string
        const call = { requestId, principal, request: body, client: request, startedAt: performance.now() }
        return generateImages(deps, call, { 'x-request-id': requestId })
      },
      {
        parse: authenticatedJson(authenticate, maxBodyBytes, sessions),
        body: ImagesModel.request,
        detail: {
          summary: 'Generate images (OpenAI-compatible): held at the worst case of n, size and quality, billed the actual',
          tags: ['images'],
          security: [{ bearer: [] }, { apiKey: [] }],
        },
      },
    )
  }
  return new Elysia({ name: 'images' }).use(routes(IMAGES_PREFIXES[0])).use(routes(IMAGES_PREFIXES[1]))
}
