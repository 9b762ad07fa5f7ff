// The principal of a request served outside Elysia (the Bun route table): its key from the headers, resolved, or a 401.
import type { Server } from 'bun'
import { AuthenticationError } from '../../errors'
import { resolveClientAddress } from '../../lib/client-address'
import { extractApiKeyFrom, type Authenticator, type Principal } from './service'

export type RequestServer = Pick<Server<unknown>, 'requestIP'> | null

/** Synchronous on a cache hit; the client address is resolved only when an address is being limited. */
export async function requestPrincipal(request: Request, server: RequestServer, authenticate: Authenticator, trustForwardedFor: boolean): Promise<Principal> {
  const apiKey = extractApiKeyFrom(request.headers)
  if (apiKey === undefined) throw new AuthenticationError()
  const found = authenticate(apiKey, () => resolveClientAddress(request, server, trustForwardedFor))
  const principal = found instanceof Promise ? await found : found
  if (!principal) throw new AuthenticationError()
  return principal
}
