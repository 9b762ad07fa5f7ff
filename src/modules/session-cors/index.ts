// CORS for the session token's other browser routes (balance, top-up, config, refresh): preflights and the grant on answers to origins some project allows.
import { Elysia } from 'elysia'
import { corsHeaders, preflightHandler, type OriginLookup } from '../chat/cors'

/** The routes a page calls with its es_… token besides chat and Messages (those grant CORS in their own handler). */
export const SESSION_BROWSER_PATHS = ['/v1/wallet/balance', '/v1/wallet/top-up', '/v1/config', '/v1/sessions/refresh'] as const
const PATHS: ReadonlySet<string> = new Set(SESSION_BROWSER_PATHS)

/**
 * The grant is added to every answer of these paths for an allowed origin, errors included, so a page can read a
 * 401 session_expired and refresh. As for the chat route's preflight, the grant goes to an origin some project allows;
 * the token decides whose wallet is read or topped up.
 */
export function sessionCorsPlugin(isAllowed: OriginLookup) {
  const preflight = preflightHandler(isAllowed, 'GET, POST, OPTIONS')
  const answer = ({ request }: { request: Request }) => preflight(request)
  const hidden = { detail: { hide: true } }
  // onRequest runs for every request before routing (Elysia's request hooks are global).
  return new Elysia({ name: 'session-cors' })
    .onRequest(async ({ request, set }) => {
      const origin = request.headers.get('origin')
      if (origin === null || request.method === 'OPTIONS') return
      if (!PATHS.has(new URL(request.url).pathname)) return
      if (await isAllowed(origin)) Object.assign(set.headers, corsHeaders(origin))
    })
    .options('/v1/wallet/balance', answer, hidden)
    .options('/v1/wallet/top-up', answer, hidden)
    .options('/v1/config', answer, hidden)
    .options('/v1/sessions/refresh', answer, hidden)
}
