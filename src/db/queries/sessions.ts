// End-user session queries: mint (hashed), resolve a token, refresh within a lineage, revoke.
import type { Queryable as Sql, Sql as Pool } from '../../lib/db'
import type { Mode } from './projects'

export interface SessionRow {
  id: string
  token_hash: string
  lineage_id: string
  project_id: string
  end_customer_id: string
  wallet_id: string
  mode: Mode
  scope_models: string[] | null
  max_spend_nano: string | null
  expires_at: Date
  revoked_at: Date | null
  replaced_by: string | null
  created_at: Date
}

/** A session as the request path sees it, with what it needs of its project and wallet. */
export interface SessionOwnerRow extends SessionRow {
  account_id: string
  end_user_sessions: boolean
  allowed_origins: string[]
  ledger_account_id: string
  wallet_status: 'active' | 'frozen'
}

export interface NewSession {
  id: string
  tokenHash: string
  lineageId: string
  projectId: string
  endCustomerId: string
  walletId: string
  mode: Mode
  scopeModels: string[] | null
  maxSpendNano: bigint | null
  expiresAt: Date
}

export async function insertSession(sql: Sql, session: NewSession): Promise<SessionRow> {
  const [row] = await sql<SessionRow[]>`
    INSERT INTO end_user_sessions (id, token_hash, lineage_id, project_id, end_customer_id, wallet_id, mode, scope_models, max_spend_nano, expires_at)
    VALUES (${session.id}, ${session.tokenHash}, ${session.lineageId}, ${session.projectId}, ${session.endCustomerId}, ${session.walletId},
            ${session.mode}, ${session.scopeModels}, ${session.maxSpendNano === null ? null : session.maxSpendNano.toString()}, ${session.expiresAt})
    RETURNING *`
  return row!
}

/** The unrevoked session of this token hash (expired ones too: the caller tells expired from unknown). */
export async function findSessionByHash(sql: Sql, hash: string): Promise<SessionOwnerRow | null> {
  const [row] = await sql<SessionOwnerRow[]>`
    SELECT s.*, p.account_id, p.end_user_sessions, p.allowed_origins, w.ledger_account_id, w.status AS wallet_status
    FROM end_user_sessions s JOIN projects p ON p.id = s.project_id JOIN end_user_wallets w ON w.id = s.wallet_id
    WHERE s.token_hash = ${hash} AND s.revoked_at IS NULL`
  return row ?? null
}

/**
 * Replaces a live session with a new one of the same lineage, scope and wallet, in one transaction: the old one is
 * revoked only if nobody revoked or refreshed it first, so one token refreshes once.
 */
export async function replaceSession(sql: Pool, oldId: string, next: Omit<NewSession, 'lineageId' | 'projectId' | 'endCustomerId' | 'walletId' | 'mode' | 'scopeModels' | 'maxSpendNano'>) {
  return sql.begin(async (tx) => {
    const [old] = await tx<SessionRow[]>`
      SELECT * FROM end_user_sessions WHERE id = ${oldId} AND revoked_at IS NULL AND expires_at > now() FOR UPDATE`
    if (!old) return null
    const created = await insertSession(tx, {
      ...next,
      lineageId: old.lineage_id,
      projectId: old.project_id,
      endCustomerId: old.end_customer_id,
      walletId: old.wallet_id,
      mode: old.mode,
      scopeModels: old.scope_models,
      maxSpendNano: old.max_spend_nano === null ? null : BigInt(old.max_spend_nano),
    })
    await tx`UPDATE end_user_sessions SET revoked_at = now(), replaced_by = ${created.id} WHERE id = ${old.id}`
    return { old, created }
  })
}

/** Revokes the project's session with this token hash; the row if there was a live one. */
export async function revokeSession(sql: Sql, projectId: string, mode: Mode, hash: string): Promise<SessionRow | null> {
  const [row] = await sql<SessionRow[]>`
    UPDATE end_user_sessions SET revoked_at = now()
    WHERE token_hash = ${hash} AND project_id = ${projectId} AND mode = ${mode} AND revoked_at IS NULL
    RETURNING *`
  return row ?? null
}
