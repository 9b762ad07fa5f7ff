// The principal of a chat request made with an end user's session token (es_…): the session, its origin checked, as a principal paid from its wallet.
import { AuthenticationError, PermissionError, SessionExpiredError } from '../../errors'
import { resolveClientAddress } from '../../lib/client-address'
import type { PlatformAuth } from './platform'
import type { SessionLookup } from './platform-credentials'
import type { RequestServer } from './request-principal'
import type { Principal } from './service'

/** Tokens of this shape are sessions' (es_…, es_test_…); every other key is an API key. */
export const looksLikeSessionToken = (key: string): boolean => key.startsWith('es_')

/** An Origin header, when there is one, must be one the project allows: a page elsewhere cannot spend with a leaked token. */
export function assertOriginAllowed(origin: string | null, allowedOrigins: readonly string[]): void {
  if (origin === null || allowedOrigins.includes(origin)) return
  throw new PermissionError(
    `Origin ${origin} is not in this project's allowed_origins. Add it with PATCH /v1/projects/{id} {"allowed_origins": [...]}.`,
    'origin_not_allowed',
  )
}

/** The session's principal, or the refusal (thrown): synchronous when the session is cached. */
export function requestSession(request: Request, server: RequestServer, token: string, auth: PlatformAuth, trustForwardedFor: boolean): Principal | Promise<Principal> {
  if (auth.failedAttempts && auth.failedAttempts.size > 0) auth.failedAttempts.assertAllowed(resolveClientAddress(request, server, trustForwardedFor))
  const found = auth.credentials.session(token)
  return found instanceof Promise
    ? found.then((lookup) => sessionPrincipal(request, server, lookup, auth, trustForwardedFor))
    : sessionPrincipal(request, server, found, auth, trustForwardedFor)
}

function sessionPrincipal(request: Request, server: RequestServer, found: SessionLookup, auth: PlatformAuth, trustForwardedFor: boolean): Principal {
  if (found === null) {
    auth.failedAttempts?.recordFailure(resolveClientAddress(request, server, trustForwardedFor))
    throw new AuthenticationError()
  }
  if (found === 'expired') throw new SessionExpiredError()
  if (!found.sessionsEnabled) throw new AuthenticationError('End-user sessions are turned off for this project, so its session tokens are not accepted.')
  assertOriginAllowed(request.headers.get('origin'), found.allowedOrigins)
  return {
    accountId: found.ledgerAccountId,
    keyId: found.sessionId,
    mode: found.mode,
    kind: 'session',
    subscriptionStatus: 'active',
    spendCapNano: null,
    limits: { rpm: null, tpm: null },
    billingMode: 'prepaid',
    session: found,
  }
}
