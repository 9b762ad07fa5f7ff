// Elysia pieces that authenticate platform routes: `project` from a secret key, `session` from a session token; JSON bodies are read only after.
import { Elysia } from 'elysia'
import { AuthenticationError, SessionExpiredError } from '../../errors'
import { clientAddressOf } from '../../lib/client-address'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import type { FailedAttempts } from './failed-attempts'
import type { PlatformCredentials, ProjectPrincipal, SessionPrincipal } from './platform-credentials'
import { extractApiKey } from './service'

type Headers = Record<string, string | undefined>

export interface PlatformAuth {
  credentials: PlatformCredentials
  /** Wrong secret keys and tokens are counted per address with the API keys' (AUTH_FAILURE_LIMIT). */
  failedAttempts?: FailedAttempts
}

const projectsByRequest = new WeakMap<Request, ProjectPrincipal>()

/** Checks the address is not blocked, resolves the credential, and counts a miss against the address. */
async function resolve<T>(auth: PlatformAuth, headers: Headers, request: Request, lookup: (credential: string) => T | null | Promise<T | null>): Promise<T> {
  const credential = extractApiKey(headers)
  if (credential === undefined) throw new AuthenticationError()
  const address = clientAddressOf(request)
  auth.failedAttempts?.assertAllowed(address)
  const found = await lookup(credential)
  if (found === null) {
    auth.failedAttempts?.recordFailure(address)
    throw new AuthenticationError()
  }
  return found
}

const requireProject = (auth: PlatformAuth, headers: Headers, request: Request) => resolve(auth, headers, request, auth.credentials.secretKey)

/** The session of the request's token; an expired one is 401 session_expired, not a miss. */
export async function requireSession(auth: PlatformAuth, headers: Headers, request: Request): Promise<SessionPrincipal> {
  const found = await resolve(auth, headers, request, async (token) => {
    const session = await auth.credentials.session(token)
    return session === 'expired' ? ('expired' as const) : session
  })
  if (found === 'expired') throw new SessionExpiredError()
  if (!found.sessionsEnabled) throw new AuthenticationError('End-user sessions are turned off for this project, so its session tokens are not accepted.')
  return found
}

/** The project of the request's secret key (found while parsing the body, or now). */
export async function projectOfRequest(auth: PlatformAuth, headers: Headers, request: Request): Promise<ProjectPrincipal> {
  return projectsByRequest.get(request) ?? (await requireProject(auth, headers, request))
}

/** Derives `project` (a secret key's project and mode) for the routes of the plugin that uses it. */
export function secretKeyPlugin(auth: PlatformAuth) {
  return new Elysia().derive({ as: 'scoped' }, async ({ headers, request }) => ({
    project: projectsByRequest.get(request) ?? (await requireProject(auth, headers, request)),
  }))
}

/** Body parser for secret-key JSON routes: the key is checked before the body is read. */
export function secretKeyJson(auth: PlatformAuth, maxBodyBytes: number) {
  return async ({ request, headers }: { request: Request; headers: Headers }) => {
    projectsByRequest.set(request, await requireProject(auth, headers, request))
    return parseJsonBody(await readBodyText(request, maxBodyBytes))
  }
}

/** Derives `session` (what a browser's es_ token allows). */
export function sessionPlugin(auth: PlatformAuth) {
  return new Elysia().derive({ as: 'scoped' }, async ({ headers, request }) => ({ session: await requireSession(auth, headers, request) }))
}
