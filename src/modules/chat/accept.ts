// The checks every model route served from Bun's table makes before its work, in this order: the body limit, the key, the body, the schema.
import type { TypeCheck } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { PayloadTooLargeError } from '../../errors'
import { describeValueError } from '../../lib/framework-errors'
import { parseJsonBody } from '../../lib/json-body'
import { readBodyText } from '../../lib/request-body'
import type { PlatformAuth } from '../auth/platform'
import { requestPrincipal, type RequestServer } from '../auth/request-principal'
import type { Authenticator, Principal } from '../auth/service'
import { corsHeaders } from './cors'

export interface AcceptOptions {
  authenticate: Authenticator
  maxBodyBytes: number
  trustForwardedFor: boolean
  sessions?: PlatformAuth | undefined
}

/**
 * The principal and the checked body, or the typed refusal. The key comes before the body: an unauthenticated caller
 * can neither make us parse megabytes nor learn our schema. A session's origin was checked against its project, so its
 * answer (refusals included) gets the CORS grant in `headers`.
 */
export async function acceptRequest<T>(
  request: Request,
  server: RequestServer,
  schema: TypeCheck<TSchema>,
  headers: Record<string, string>,
  o: AcceptOptions,
): Promise<{ principal: Principal; body: T }> {
  const length = request.headers.get('content-length')
  if (length !== null && Number(length) > o.maxBodyBytes) throw new PayloadTooLargeError(o.maxBodyBytes)
  const principal = await requestPrincipal(request, server, o.authenticate, o.trustForwardedFor, o.sessions)
  if (principal.session) {
    const origin = request.headers.get('origin')
    if (origin !== null) Object.assign(headers, corsHeaders(origin))
  }
  const body = parseJsonBody(await readBodyText(request, o.maxBodyBytes))
  if (!schema.Check(body)) throw describeValueError(schema.Errors(body).First())
  return { principal, body: body as T }
}
