// CORS for the chat route: browsers calling with a session token. Preflights are answered for origins some project allows; the answer names that origin only.
import { errorResponse, PermissionError } from '../../errors'
import { grantFor, x402Preflight, type X402Cors } from '../../x402/cors'

export type OriginLookup = (origin: string) => Promise<boolean>

const PREFLIGHT_MAX_AGE_S = 600
const MAX_CACHED = 10_000

/** The headers an allowed origin's response carries (the session's project was checked before these are added). */
export function corsHeaders(origin: string): Record<string, string> {
  return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'x-request-id, retry-after, x-ratelimit-limit-requests, x-ratelimit-remaining-requests' }
}

/** Remembers answers for `ttlMs`, so a page's preflights do not each cost a Postgres query. */
export function cachedOriginLookup(lookup: OriginLookup, ttlMs: number): OriginLookup {
  const answers = new Map<string, { allowed: boolean; until: number }>()
  return async (origin) => {
    const hit = answers.get(origin)
    if (hit && hit.until > Date.now()) return hit.allowed
    const allowed = await lookup(origin)
    if (answers.size >= MAX_CACHED) answers.clear()
    answers.set(origin, { allowed, until: Date.now() + ttlMs })
    return allowed
  }
}

/** OPTIONS on the chat path (or another browser path, with its `methods`): 204 with the CORS grant for an allowed origin, else 403 origin_not_allowed. */
export function preflightHandler(isAllowed: OriginLookup, methods = 'POST, OPTIONS') {
  return async (request: Request): Promise<Response> => {
    const origin = request.headers.get('origin')
    if (origin === null || !(await isAllowed(origin))) {
      return errorResponse(new PermissionError(`Origin ${origin ?? '(none)'} is not in any project's allowed_origins.`, 'origin_not_allowed'), {})
    }
    return new Response(null, {
      status: 204,
      headers: {
        ...corsHeaders(origin),
        'access-control-allow-methods': methods,
        // The SDKs send their own headers (x-stainless-…): whatever the page asks for is granted to an allowed origin.
        'access-control-allow-headers': request.headers.get('access-control-request-headers') ?? 'authorization, content-type',
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
      },
    })
  }
}

/**
 * The chat and Messages paths' OPTIONS: pages of gateway.cors_origins (paying with x402) get the x402 grant, others
 * the projects' (session tokens); null when neither applies.
 */
export function routePreflight(allowedOrigin: OriginLookup | undefined, cors: X402Cors | null | undefined): ((request: Request) => Promise<Response>) | null {
  const project = allowedOrigin ? preflightHandler(allowedOrigin) : null
  if (!cors) return project
  return async (request) => {
    if (grantFor(cors, request.headers.get('origin')) || !project) return x402Preflight(cors, 'POST, OPTIONS', request)
    return project(request)
  }
}
