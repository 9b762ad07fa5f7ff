// The auth plugin: derives `principal` for the routes of the plugin that uses it; JSON routes authenticate before parsing.
import { Elysia } from 'elysia'
import { AuthenticationError } from '../../errors'
import { clientAddressOf } from '../../lib/client-address'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import { extractApiKey, type Authenticator, type Principal } from './service'

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
export function authenticatedJson(authenticate: Authenticator, maxBodyBytes: number) {
  return async ({ request, headers }: { request: Request; headers: Record<string, string | undefined> }) => {
    principalsByRequest.set(request, await requirePrincipal(authenticate, headers, request))
    return parseJsonBody(await readBodyText(request, maxBodyBytes))
  }
}
