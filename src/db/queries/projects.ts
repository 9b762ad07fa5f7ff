// Project queries: an account's projects, their settings, and their platform secret keys (hashed).
import type { Queryable as Sql } from '../../lib/db'

export type Mode = 'live' | 'test'

export interface ProjectRow {
  id: string
  account_id: string
  name: string
  markup_bps: number
  allowed_origins: string[]
  end_user_sessions: boolean
  low_balance_threshold_nano: string | null
  created_at: Date
  updated_at: Date
}

export interface ProjectKeyRow {
  id: string
  project_id: string
  mode: Mode
  display: string
  created_at: Date
  revoked_at: Date | null
}

/** A live secret key and what it may act for. */
export interface SecretKeyOwnerRow {
  key_id: string
  mode: Mode
  project_id: string
  account_id: string
}

export interface NewProject {
  id: string
  accountId: string
  name: string
  markupBps: number
  allowedOrigins: string[]
  endUserSessions: boolean
}

export async function insertProject(sql: Sql, project: NewProject): Promise<ProjectRow> {
  const [row] = await sql<ProjectRow[]>`
    INSERT INTO projects (id, account_id, name, markup_bps, allowed_origins, end_user_sessions)
    VALUES (${project.id}, ${project.accountId}, ${project.name}, ${project.markupBps}, ${project.allowedOrigins}, ${project.endUserSessions})
    RETURNING *`
  return row!
}

export function listProjects(sql: Sql, accountId: string): Promise<ProjectRow[]> {
  return sql<ProjectRow[]>`SELECT * FROM projects WHERE account_id = ${accountId} ORDER BY created_at, id`
}

/** The project if this account owns it: another account's project is not found, as one that does not exist. */
export async function findOwnProject(sql: Sql, accountId: string, projectId: string): Promise<ProjectRow | null> {
  const [row] = await sql<ProjectRow[]>`SELECT * FROM projects WHERE id = ${projectId} AND account_id = ${accountId}`
  return row ?? null
}

export async function findProject(sql: Sql, projectId: string): Promise<ProjectRow | null> {
  const [row] = await sql<ProjectRow[]>`SELECT * FROM projects WHERE id = ${projectId}`
  return row ?? null
}

export interface ProjectChanges {
  name?: string
  markupBps?: number
  allowedOrigins?: string[]
  endUserSessions?: boolean
  /** null: no low-balance events; omitted: unchanged. */
  lowBalanceThresholdNano?: bigint | null
}

/** Changes the given settings; an omitted one keeps its value. Null: not this account's project. */
export async function updateProject(sql: Sql, accountId: string, projectId: string, changes: ProjectChanges): Promise<ProjectRow | null> {
  const [row] = await sql<ProjectRow[]>`
    UPDATE projects SET
      name = coalesce(${changes.name ?? null}::text, name),
      markup_bps = coalesce(${changes.markupBps ?? null}::integer, markup_bps),
      allowed_origins = coalesce(${changes.allowedOrigins ?? null}::text[], allowed_origins),
      end_user_sessions = coalesce(${changes.endUserSessions ?? null}::boolean, end_user_sessions),
      low_balance_threshold_nano = CASE WHEN ${changes.lowBalanceThresholdNano !== undefined}::boolean
        THEN ${changes.lowBalanceThresholdNano == null ? null : changes.lowBalanceThresholdNano.toString()}::bigint ELSE low_balance_threshold_nano END,
      updated_at = now()
    WHERE id = ${projectId} AND account_id = ${accountId}
    RETURNING *`
  return row ?? null
}

export async function insertProjectKey(sql: Sql, key: { id: string; projectId: string; mode: Mode; hash: string; display: string }): Promise<void> {
  await sql`
    INSERT INTO project_keys (id, project_id, mode, key_hash, display)
    VALUES (${key.id}, ${key.projectId}, ${key.mode}, ${key.hash}, ${key.display})`
}

/** Revokes the project's key; returns its hash (to evict it from caches), or null if the project has no live key with that id. */
export async function revokeProjectKey(sql: Sql, projectId: string, keyId: string): Promise<string | null> {
  const [row] = await sql<{ key_hash: string }[]>`
    UPDATE project_keys SET revoked_at = now() WHERE id = ${keyId} AND project_id = ${projectId} AND revoked_at IS NULL
    RETURNING key_hash`
  return row?.key_hash ?? null
}

export async function findSecretKeyOwner(sql: Sql, hash: string): Promise<SecretKeyOwnerRow | null> {
  const [row] = await sql<SecretKeyOwnerRow[]>`
    SELECT k.id AS key_id, k.mode, p.id AS project_id, p.account_id
    FROM project_keys k JOIN projects p ON p.id = k.project_id
    WHERE k.key_hash = ${hash} AND k.revoked_at IS NULL`
  return row ?? null
}

/** Does any project taking end-user sessions allow this browser origin (a CORS preflight carries no token to say which)? */
export async function isOriginAllowedAnywhere(sql: Sql, origin: string): Promise<boolean> {
  const [row] = await sql`SELECT 1 FROM projects WHERE end_user_sessions AND ${origin} = ANY (allowed_origins) LIMIT 1`
  return row !== undefined
}
