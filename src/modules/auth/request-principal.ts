// The principal of a request served outside Elysia (the Bun route table): its key from the headers, resolved, or a 401.
import type { Server } from 'bun'
import { AuthenticationError } from '../../errors'
import { resolveClientAddress } from '../../lib/client-address'
import type { PlatformAuth } from './platform'
import { looksLikeSessionToken, requestSession } from './request-session'
import { extractApiKeyFrom, type Authenticator, type Principal } from './service'

export type RequestServer = Pick<Server<unknown>, 'requestIP'> | null

/**
 * Synchronous on a cache hit; the client address is resolved only when an address is being limited. With `sessions`,
 * an end user's session token is accepted too (the chat route).
 */
export async function requestPrincipal(
  request: Request,
  server: RequestServer,
  authenticate: Authenticator,
  trustForwardedFor: boolean,
  sessions?: PlatformAuth,
): Promise<Principal> {
  const apiKey = extractApiKeyFrom(request.headers)
  if (apiKey === undefined) throw new AuthenticationError()
  if (sessions && looksLikeSessionToken(apiKey)) return requestSession(request, server, apiKey, sessions, trustForwardedFor)
  const found = authenticate(apiKey, () => resolveClientAddress(request, server, trustForwardedFor))
  const principal = found instanceof Promise ? await found : found
  if (!principal) throw new AuthenticationError()
  return principal
}
