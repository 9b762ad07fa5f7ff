// Projects of an account: create, list, change settings, mint and revoke their secret keys. Another account's project is a 404.
import { findOwnProject, insertProject, insertProjectKey, listProjects, revokeProjectKey, updateProject, type Mode, type ProjectRow } from '../../db/queries/projects'
import { InvalidRequestError, NotFoundError, PermissionError } from '../../errors'
import type { Sql } from '../../lib/db'
import { formatNanoAsUsd, parseUsdToNano } from '../../pricing/money'
import { mintSecretKey, newId } from '../auth/platform-keys'
import type { Principal } from '../auth/service'

export interface ProjectServiceDeps {
  sql: Sql
  /** A secret key was revoked: every process must refuse it within a second. */
  onKeyRevoked(hash: string): Promise<void>
  /** A project's settings changed: cached sessions of it are read again. */
  onProjectChanged(projectId: string): Promise<void>
}

export interface ProjectSettings {
  name?: string
  markup_percent?: number
  allowed_origins?: string[]
  end_user_sessions?: boolean
  low_balance_threshold_usd?: string | null
}

const projectNotFound = (id: string) => new NotFoundError(`No project '${id}'.`, 'project_not_found', 'id')

/** Projects belong to a registered account; a static gateway key has none. */
export function accountOf(principal: Principal): string {
  if (principal.kind === 'static') {
    throw new PermissionError('Projects belong to a registered account: call this with an agent key (mw_live_…), not a static gateway key.', 'projects_not_available')
  }
  return principal.accountId
}

/** 12.5 % → 1250 bps; more than 2 decimals is refused rather than rounded, so what is stored is what was asked. */
export function markupPercentToBps(percent: number): number {
  const bps = Math.round(percent * 100)
  if (Math.abs(percent * 100 - bps) > 1e-6) {
    throw new InvalidRequestError(`Invalid value for 'markup_percent': at most 2 decimals (got ${percent}).`, 'markup_percent', 'invalid_value')
  }
  return bps
}

/** Origins compare as browsers send them: lowercase scheme and host; duplicates are dropped. */
const normalizeOrigins = (origins: string[]) => [...new Set(origins.map((origin) => origin.toLowerCase()))]

export function projectBody(row: ProjectRow) {
  return {
    id: row.id,
    object: 'project' as const,
    name: row.name,
    markup_percent: row.markup_bps / 100,
    markup_bps: row.markup_bps,
    allowed_origins: row.allowed_origins,
    end_user_sessions: row.end_user_sessions,
    low_balance_threshold_usd: row.low_balance_threshold_nano === null ? null : formatNanoAsUsd(BigInt(row.low_balance_threshold_nano)),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

export async function createProject(deps: ProjectServiceDeps, principal: Principal, settings: ProjectSettings & { name: string }) {
  const row = await insertProject(deps.sql, {
    id: newId('proj'),
    accountId: accountOf(principal),
    name: settings.name,
    markupBps: markupPercentToBps(settings.markup_percent ?? 0),
    allowedOrigins: normalizeOrigins(settings.allowed_origins ?? []),
    endUserSessions: settings.end_user_sessions ?? false,
  })
  return projectBody(row)
}

export async function listOwnProjects(deps: ProjectServiceDeps, principal: Principal) {
  const rows = await listProjects(deps.sql, accountOf(principal))
  return { object: 'list' as const, data: rows.map(projectBody) }
}

export async function changeProject(deps: ProjectServiceDeps, principal: Principal, projectId: string, settings: ProjectSettings) {
  const row = await updateProject(deps.sql, accountOf(principal), projectId, {
    ...(settings.name !== undefined ? { name: settings.name } : {}),
    ...(settings.markup_percent !== undefined ? { markupBps: markupPercentToBps(settings.markup_percent) } : {}),
    ...(settings.allowed_origins !== undefined ? { allowedOrigins: normalizeOrigins(settings.allowed_origins) } : {}),
    ...(settings.end_user_sessions !== undefined ? { endUserSessions: settings.end_user_sessions } : {}),
    ...(settings.low_balance_threshold_usd !== undefined
      ? { lowBalanceThresholdNano: settings.low_balance_threshold_usd === null ? null : parseUsdToNano(settings.low_balance_threshold_usd) }
      : {}),
  })
  if (!row) throw projectNotFound(projectId)
  await deps.onProjectChanged(projectId)
  return projectBody(row)
}

export async function createProjectKey(deps: ProjectServiceDeps, principal: Principal, projectId: string, mode: Mode) {
  if (!(await findOwnProject(deps.sql, accountOf(principal), projectId))) throw projectNotFound(projectId)
  const minted = mintSecretKey(mode)
  const id = newId('pkey')
  await insertProjectKey(deps.sql, { id, projectId, mode, hash: minted.hash, display: minted.display })
  return { id, object: 'project_key' as const, project_id: projectId, mode, secret_key: minted.secret, display: minted.display, created_at: new Date().toISOString() }
}

export async function revokeKeyOfProject(deps: ProjectServiceDeps, principal: Principal, projectId: string, keyId: string) {
  if (!(await findOwnProject(deps.sql, accountOf(principal), projectId))) throw projectNotFound(projectId)
  const hash = await revokeProjectKey(deps.sql, projectId, keyId)
  if (hash === null) throw new NotFoundError(`No live key '${keyId}' in project '${projectId}'.`, 'key_not_found', 'key_id')
  await deps.onKeyRevoked(hash)
  return { id: keyId, project_id: projectId, revoked: true as const }
}
