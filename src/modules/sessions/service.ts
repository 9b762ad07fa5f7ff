// End-user sessions: minted by a secret key for one end customer (created with their wallet on first sight), refreshed within a lineage, revoked everywhere.
import { upsertCustomerWithWallet } from '../../db/queries/end-customers'
import { findProject, type Mode } from '../../db/queries/projects'
import { insertSession, replaceSession, revokeSession, type SessionRow } from '../../db/queries/sessions'
import { InvalidRequestError, NotFoundError, PermissionError, SessionExpiredError } from '../../errors'
import type { Sql } from '../../lib/db'
import type { Catalog } from '../../pricing/catalog'
import { parseUsdToNano } from '../../pricing/money'
import { mintSessionToken, newId } from '../auth/platform-keys'
import type { ProjectPrincipal, SessionPrincipal } from '../auth/platform-credentials'
import { hashApiKey } from '../auth/service'
import { SESSION_TTL } from './model'

export interface SessionServiceDeps {
  sql: Sql
  catalog: Pick<Catalog, 'find' | 'models'>
  /** Stripe publishable keys by mode (null when not configured). */
  publishableKeys: Record<Mode, string | null>
  /** A session token was revoked or replaced: every process refuses it within a second. */
  onTokenRevoked(hash: string): Promise<void>
}

export interface SessionRequest {
  customer: string | { external_id: string; email?: string; name?: string }
  scope?: { models?: string[]; max_spend?: string }
  ttl_seconds?: number
}

/** Models a session's scope may name (chat, embedding and image models): kept as the catalog's ids, so a later check is one comparison. */
function scopeModels(catalog: SessionServiceDeps['catalog'], models: string[] | undefined): string[] | null {
  if (models === undefined) return null
  const ids = models.map((name, i) => {
    const model = catalog.find(name)
    if (!model) {
      throw new InvalidRequestError(`Invalid value for 'scope.models[${i}]': '${name}' is not a model we serve. GET /v1/models lists them.`, `scope.models[${i}]`, 'model_not_found')
    }
    return model.id
  })
  return [...new Set(ids)]
}

function maxSpend(usd: string | undefined): bigint | null {
  if (usd === undefined) return null
  const nano = parseUsdToNano(usd)
  if (nano <= 0n) throw new InvalidRequestError(`Invalid value for 'scope.max_spend': it must be greater than 0 (got "${usd}").`, 'scope.max_spend', 'invalid_value')
  return nano
}

function sessionBody(deps: SessionServiceDeps, token: string, row: SessionRow) {
  return {
    session_token: token,
    wallet_id: row.wallet_id,
    end_customer_id: row.end_customer_id,
    expires_at: row.expires_at.toISOString(),
    publishable_key: deps.publishableKeys[row.mode],
    mode: row.mode,
  }
}

export async function createSession(deps: SessionServiceDeps, project: ProjectPrincipal, request: SessionRequest) {
  const settings = await findProject(deps.sql, project.projectId)
  if (!settings?.end_user_sessions) {
    throw new PermissionError('End-user sessions are turned off for this project. Turn them on with PATCH /v1/projects/{id} {"end_user_sessions": true}.', 'end_user_sessions_disabled')
  }
  const customer = typeof request.customer === 'string' ? { external_id: request.customer } : request.customer
  const models = scopeModels(deps.catalog, request.scope?.models)
  const maxSpendNano = maxSpend(request.scope?.max_spend)
  const { customer: endCustomer, wallet } = await upsertCustomerWithWallet(deps.sql, {
    projectId: project.projectId,
    externalId: customer.external_id,
    mode: project.mode,
    email: customer.email ?? null,
    name: customer.name ?? null,
    newCustomerId: newId('ecus'),
    newWalletId: newId('wal'),
  })
  const minted = mintSessionToken(project.mode)
  const row = await insertSession(deps.sql, {
    id: newId('ses'),
    tokenHash: minted.hash,
    lineageId: newId('sln'),
    projectId: project.projectId,
    endCustomerId: endCustomer.id,
    walletId: wallet.id,
    mode: project.mode,
    scopeModels: models,
    maxSpendNano,
    expiresAt: new Date(Date.now() + (request.ttl_seconds ?? SESSION_TTL.default) * 1000),
  })
  return sessionBody(deps, minted.secret, row)
}

/** A new token for the same lineage, scope and wallet, valid as long as the old one was minted for; the old one stops working. */
export async function refreshSession(deps: SessionServiceDeps, session: SessionPrincipal, oldHash: string) {
  const minted = mintSessionToken(session.mode)
  const [old] = await deps.sql<{ created_at: Date; expires_at: Date }[]>`SELECT created_at, expires_at FROM end_user_sessions WHERE id = ${session.sessionId}`
  const lifetimeMs = old ? old.expires_at.getTime() - old.created_at.getTime() : SESSION_TTL.default * 1000
  const replaced = await replaceSession(deps.sql, session.sessionId, { id: newId('ses'), tokenHash: minted.hash, expiresAt: new Date(Date.now() + lifetimeMs) })
  // Refreshed or revoked by another request in between, or expired just now: this token is done either way.
  if (!replaced) throw new SessionExpiredError()
  await deps.onTokenRevoked(oldHash)
  return sessionBody(deps, minted.secret, replaced.created)
}

export async function revokeSessionToken(deps: SessionServiceDeps, project: ProjectPrincipal, token: string) {
  const hash = hashApiKey(token)
  const revoked = await revokeSession(deps.sql, project.projectId, project.mode, hash)
  if (!revoked) throw new NotFoundError('No live session with this token in this project.', 'session_not_found', 'session_token')
  await deps.onTokenRevoked(hash)
  return { revoked: true as const, end_customer_id: revoked.end_customer_id }
}

/** The models this session may call: its scope (any kinds), or unscoped every chat model in the catalog. */
export function sessionConfig(deps: SessionServiceDeps, session: SessionPrincipal) {
  const models = session.scopeModels ?? deps.catalog.models.filter((model) => model.kind === 'chat').map((model) => model.id)
  return { publishable_key: deps.publishableKeys[session.mode], mode: session.mode, models }
}
