// CORS for x402 routes (gateway.cors_origins): browsers paying with x402 get their preflight answered and can read PAYMENT-REQUIRED and PAYMENT-RESPONSE.
import { errorResponse, PermissionError } from '../errors'

/** What a paying page must read: the requirements of a 402, the settlement, and why a request was refused. */
const EXPOSED = 'payment-required, payment-response, x-payment-max-amount, x-request-id, retry-after, x-ratelimit-limit-requests, x-ratelimit-remaining-requests'
const PREFLIGHT_MAX_AGE_S = 600

/** The configured origins: "*" (any page: x402 carries no ambient credential, the payment is in a header) or a list. */
export type X402Cors = { any: true } | { any: false; origins: ReadonlySet<string> }

export function x402Cors(origins: readonly string[]): X402Cors | null {
  if (origins.length === 0) return null
  return origins.includes('*') ? { any: true } : { any: false, origins: new Set(origins) }
}

/** The grant for this request's Origin, or null when it has none or it is not allowed. */
export function grantFor(cors: X402Cors, origin: string | null): Record<string, string> | null {
  if (origin === null) return null
  if (cors.any) return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED }
  if (!cors.origins.has(origin)) return null
  return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': EXPOSED }
}

/** OPTIONS: 204 granting `methods` and the headers the page asks for (PAYMENT-SIGNATURE, Content-Type…); 403 otherwise. */
export function x402Preflight(cors: X402Cors, methods: string, request: Request): Response {
  const grant = grantFor(cors, request.headers.get('origin'))
  if (!grant) return errorResponse(new PermissionError(`Origin ${request.headers.get('origin') ?? '(none)'} is not in gateway.cors_origins.`, 'origin_not_allowed'), {})
  return new Response(null, {
    status: 204,
    headers: {
      ...grant,
      'access-control-allow-methods': methods,
      'access-control-allow-headers': request.headers.get('access-control-request-headers') ?? 'content-type, payment-signature, x-payment',
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
    },
  })
}

/** The answer with the grant added (a proxied answer's headers may be immutable, so it is rebuilt around the same body). */
export function withGrant(cors: X402Cors, request: Request, response: Response): Response {
  const grant = grantFor(cors, request.headers.get('origin'))
  if (!grant) return response
  const headers = new Headers(response.headers)
  for (const [name, value] of Object.entries(grant)) headers.set(name, value)
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}
