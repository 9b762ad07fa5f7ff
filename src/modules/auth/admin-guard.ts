// The one admin guard: `Authorization: Bearer $ADMIN_TOKEN`, compared by digest, with wrong tokens counted against the caller's address.
import { timingSafeEqual } from 'node:crypto'
import { AuthenticationError } from '../../errors'
import { clientAddressOf } from '../../lib/client-address'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import type { FailedAttempts } from './failed-attempts'
import { extractApiKey, hashApiKey } from './service'

/** Throws unless the request carries the admin token; used as a local derive by every /admin plugin. */
export type AdminGuard = (context: { headers: Record<string, string | undefined>; request: Request }) => void

const digest = (token: string) => Buffer.from(hashApiKey(token), 'hex')

/** Digests, not tokens, are compared: equal lengths always, so the time taken says nothing about the token. */
export function adminGuard(token: string, attempts?: FailedAttempts, what = 'admin token'): AdminGuard {
  // An empty token would match nothing useful; refuse to build an open admin route.
  if (!token) throw new Error('the admin guard needs the admin token (ADMIN_TOKEN)')
  const expected = digest(token)
  return ({ headers, request }) => {
    const address = clientAddressOf(request)
    attempts?.assertAllowed(address)
    const presented = extractApiKey(headers)
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return
    if (presented !== undefined) attempts?.recordFailure(address)
    throw new AuthenticationError(`Missing or invalid ${what}.`)
  }
}

/** Body parser for admin JSON routes: the token is checked before the body is read, as authenticatedJson does for keys. */
export function adminJson(guard: AdminGuard, maxBodyBytes: number) {
  return async ({ request, headers }: { request: Request; headers: Record<string, string | undefined> }) => {
    guard({ headers, request })
    return parseJsonBody(await readBodyText(request, maxBodyBytes))
  }
}
