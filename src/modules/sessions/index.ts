// The sessions plugin: /v1/sessions (secret key: mint, revoke), /v1/sessions/refresh and /v1/config (session token).
import { Elysia } from 'elysia'
import { secretKeyJson, secretKeyPlugin, sessionPlugin, type PlatformAuth } from '../auth/platform'
import { extractApiKey, hashApiKey } from '../auth/service'
import { SessionModel } from './model'
import { createSession, refreshSession, revokeSessionToken, sessionConfig, type SessionServiceDeps } from './service'

export interface SessionsDeps extends SessionServiceDeps {
  auth: PlatformAuth
}

/** A customer, a scope of up to 100 model names and a number. */
const SESSION_MAX_BODY_BYTES = 64 * 1024

export function sessionsPlugin(deps: SessionsDeps) {
  const { auth, ...service } = deps
  const detail = (summary: string) => ({ tags: ['sessions'], summary, security: [{ bearer: [] }] })
  // Each group has its own credential: a secret key on the backend's routes, a session token on the browser's.
  const backend = new Elysia({ prefix: '/v1/sessions' })
    .use(secretKeyPlugin(auth))
    .post(
      '/',
      async ({ project, body, set }) => {
        const created = await createSession(service, project, body)
        set.status = 201
        return created
      },
      {
        parse: secretKeyJson(auth, SESSION_MAX_BODY_BYTES),
        body: SessionModel.create,
        response: { 201: SessionModel.session },
        detail: detail('Mint an end-user session token (secret key): the end customer and their wallet are created on first sight'),
      },
    )
    .delete('/:session_token', ({ project, params }) => revokeSessionToken(service, project, params.session_token), {
      params: SessionModel.tokenParams,
      response: SessionModel.revoked,
      detail: detail('Revoke a session token (secret key); every gateway refuses it within a second'),
    })
  const browser = new Elysia()
    .use(sessionPlugin(auth))
    .post(
      '/v1/sessions/refresh',
      async ({ session, headers, set }) => {
        const refreshed = await refreshSession(service, session, hashApiKey(extractApiKey(headers)!))
        set.status = 201
        return refreshed
      },
      { response: { 201: SessionModel.session }, detail: detail('Swap a session token for a new one with the same scope and spend so far (session token); the old one stops working') },
    )
    .get('/v1/config', ({ session }) => sessionConfig(service, session), {
      response: SessionModel.config,
      detail: detail("The session's publishable key, mode and the models it may call (session token)"),
    })
  return new Elysia({ name: 'sessions' }).use(backend).use(browser)
}
