// The auth plugin: derives `principal` for the routes of the plugin that uses it; JSON routes authenticate before parsing (session tokens too, where a route takes them).
import type { Server } from 'bun'
import { Elysia } from 'elysia'
import { AuthenticationError, GatewayError } from '../../errors'
import { clientAddressOf } from '../../lib/client-address'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import { corsHeaders, type OriginLookup } from '../chat/cors'
import type { PlatformAuth } from './platform'
import { looksLikeSessionToken, requestSession } from './request-session'
import { extractApiKey, type Authenticator, type Principal } from './service'

/** A route that also takes end users' session tokens (es_…), as the chat route does, with its CORS answers. */
export interface SessionRouteAuth {
  auth: PlatformAuth
  /** Origins some project allows: a 401 (expired or revoked token) sent to one is still readable by its page. */
  allowedOrigin: OriginLookup
  trustForwardedFor: boolean
}

/** Principals found while parsing a body, so the derive step does not hash the key twice. */
const principalsByRequest = new WeakMap<Request, Principal>()

function orFail(principal: Principal | null): Principal {
  if (!principal) throw new AuthenticationError()
  return principal
}

/** The principal of the request's key; synchronous on a cache hit, a promise when the key must be looked up. */
function requirePrincipal(authenticate: Authenticator, headers: Record<string, string | undefined>, request: Request): Principal | Promise<Principal> {
  const apiKey = extractApiKey(headers)
  if (apiKey === undefined) throw new AuthenticationError()
  const found = authenticate(apiKey, clientAddressOf(request))
  return found instanceof Promise ? found.then(orFail) : orFail(found)
}

/** The principal of the request's key (found while parsing the body, or now). */
export async function principalOfRequest(authenticate: Authenticator, headers: Record<string, string | undefined>, request: Request): Promise<Principal> {
  return principalsByRequest.get(request) ?? (await requirePrincipal(authenticate, headers, request))
}

export function authPlugin(authenticate: Authenticator) {
  // Unnamed on purpose: Elysia de-duplicates named plugins, and every feature that uses this needs its own derive.
  return new Elysia().derive({ as: 'scoped' }, async ({ headers, request }) => ({
    principal: principalsByRequest.get(request) ?? (await requirePrincipal(authenticate, headers, request)),
  }))
}

/**
 * Body parser for authenticated JSON routes. The key is checked before the body is read, so an unauthenticated
 * caller can neither make us parse megabytes nor learn our schema; bodies sent without Content-Length are held to
 * the same byte limit; any Content-Type is read as JSON, as OpenAI does; nesting is held to MAX_JSON_DEPTH.
 */
export function authenticatedJson(authenticate: Authenticator, maxBodyBytes: number, sessions?: SessionRouteAuth) {
  return async ({ request, headers, server, set }: ParseContext) => {
    const principal = sessions ? await keyOrSession(authenticate, headers, request, server ?? null, set ?? { headers: {} }, sessions) : await requirePrincipal(authenticate, headers, request)
    principalsByRequest.set(request, principal)
    return parseJsonBody(await readBodyText(request, maxBodyBytes))
  }
}

interface ParseContext {
  request: Request
  headers: Record<string, string | undefined>
  /** Elysia's context has both; callers without sessions need neither. */
  server?: Pick<Server<unknown>, 'requestIP'> | null
  set?: { headers: Record<string, unknown> }
}

/**
 * An API key as anywhere, or a session token checked as on the chat route (src/modules/auth/request-session.ts: its
 * origin against its project). A session's answer, refusals included, carries the CORS grant for its origin; a 401
 * carries it for an origin some project allows, so the page can read session_expired and refresh.
 */
async function keyOrSession(
  authenticate: Authenticator,
  headers: Record<string, string | undefined>,
  request: Request,
  server: Pick<Server<unknown>, 'requestIP'> | null,
  set: { headers: Record<string, unknown> },
  sessions: SessionRouteAuth,
): Promise<Principal> {
  const key = extractApiKey(headers)
  if (key === undefined || !looksLikeSessionToken(key)) return requirePrincipal(authenticate, headers, request)
  const origin = request.headers.get('origin')
  try {
    const principal = await requestSession(request, server, key, sessions.auth, sessions.trustForwardedFor)
    if (origin !== null) Object.assign(set.headers, corsHeaders(origin))
    return principal
  } catch (error) {
    if (origin !== null && error instanceof GatewayError && error.status === 401 && (await sessions.allowedOrigin(origin).catch(() => false))) {
      Object.assign(set.headers, corsHeaders(origin))
    }
    throw error
  }
}
