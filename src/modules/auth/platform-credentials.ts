// Secret keys and session tokens by hash, cached in process with a short TTL; revocations are broadcast over the principal eviction channel.
import { findSecretKeyOwner } from '../../db/queries/projects'
import { findSessionByHash, type SessionOwnerRow } from '../../db/queries/sessions'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { isSecretKeyFormat, isSessionTokenFormat, type Mode } from './platform-keys'
import { hashApiKey } from './service'

/** Who a platform secret key acts for: one project of one account, in one mode. */
export interface ProjectPrincipal {
  keyId: string
  projectId: string
  accountId: string
  mode: Mode
}

/** What a session token allows: one end customer's wallet, within a scope, until it expires. */
export interface SessionPrincipal {
  sessionId: string
  /** Shared by a session and every refresh of it: a max_spend is counted per lineage. */
  lineageId: string
  projectId: string
  accountId: string
  endCustomerId: string
  walletId: string
  /** The wallet's holder in the ledger and in Redis: what admission holds and settles against. */
  ledgerAccountId: string
  mode: Mode
  scopeModels: string[] | null
  maxSpendNano: bigint | null
  expiresAt: Date
  allowedOrigins: string[]
  walletStatus: 'active' | 'frozen'
  /** The project's end-user sessions switch as of the lookup (turning it off evicts the project's sessions). */
  sessionsEnabled: boolean
}

export type SessionLookup = SessionPrincipal | 'expired' | null

const unlessExpired = (found: SessionPrincipal | null): SessionLookup => (!found ? null : found.expiresAt.getTime() <= Date.now() ? 'expired' : found)

const NEGATIVE_TTL_MS = 2_000
const MAX_ENTRIES = 100_000

interface Entry<T> {
  value: T | null
  expiresAt: number
}

export interface PlatformCredentialsDeps {
  sql: Sql
  ttlMs: number
  /** Sends an eviction to every process (this one evicts before sending). */
  publish: (message: string) => Promise<unknown>
  logger: Logger
}

function sessionFromRow(row: SessionOwnerRow): SessionPrincipal {
  return {
    sessionId: row.id,
    lineageId: row.lineage_id,
    projectId: row.project_id,
    accountId: row.account_id,
    endCustomerId: row.end_customer_id,
    walletId: row.wallet_id,
    ledgerAccountId: row.ledger_account_id,
    mode: row.mode,
    scopeModels: row.scope_models,
    maxSpendNano: row.max_spend_nano === null ? null : BigInt(row.max_spend_nano),
    expiresAt: row.expires_at,
    allowedOrigins: row.allowed_origins,
    walletStatus: row.wallet_status,
    sessionsEnabled: row.end_user_sessions,
  }
}

/** One TTL cache with single-flight loads; an eviction during a load keeps that load's answer out of the cache. */
class HashCache<T extends { projectId: string }> {
  private readonly entries = new Map<string, Entry<T>>()
  private readonly loading = new Map<string, Promise<T | null>>()
  private generation = 0

  constructor(
    private readonly ttlMs: number,
    private readonly load: (hash: string) => Promise<T | null>,
  ) {}

  get(hash: string): T | null | Promise<T | null> {
    const entry = this.entries.get(hash)
    if (entry && entry.expiresAt > Date.now()) return entry.value
    const pending = this.loading.get(hash)
    if (pending) return pending
    const startedAt = this.generation
    const lookup = this.load(hash)
      .then((value) => {
        if (this.generation === startedAt) this.remember(hash, value)
        return value
      })
      .finally(() => this.loading.delete(hash))
    this.loading.set(hash, lookup)
    return lookup
  }

  private remember(hash: string, value: T | null): void {
    if (this.entries.size >= MAX_ENTRIES) {
      let drop = MAX_ENTRIES / 10
      for (const key of this.entries.keys()) {
        this.entries.delete(key)
        if (--drop <= 0) break
      }
    }
    this.entries.set(hash, { value, expiresAt: Date.now() + (value ? this.ttlMs : Math.min(NEGATIVE_TTL_MS, this.ttlMs)) })
  }

  evictHash(hash: string): void {
    this.generation++
    this.entries.delete(hash)
  }

  evictProject(projectId: string): void {
    this.generation++
    for (const [hash, entry] of this.entries) if (entry.value?.projectId === projectId) this.entries.delete(hash)
  }
}

export class PlatformCredentials {
  private readonly keys: HashCache<ProjectPrincipal>
  private readonly sessions: HashCache<SessionPrincipal>

  constructor(private readonly deps: PlatformCredentialsDeps) {
    this.keys = new HashCache(deps.ttlMs, async (hash) => {
      const row = await findSecretKeyOwner(deps.sql, hash)
      return row ? { keyId: row.key_id, projectId: row.project_id, accountId: row.account_id, mode: row.mode } : null
    })
    this.sessions = new HashCache(deps.ttlMs, async (hash) => {
      const row = await findSessionByHash(deps.sql, hash)
      return row ? sessionFromRow(row) : null
    })
  }

  /** The project a secret key acts for; null for anything we did not mint or that was revoked. */
  readonly secretKey = (key: string): ProjectPrincipal | null | Promise<ProjectPrincipal | null> => {
    if (!isSecretKeyFormat(key)) return null
    return this.keys.get(hashApiKey(key))
  }

  /**
   * The session of a token; 'expired' once its time is up (a cached session is checked on every use). Synchronous on
   * a cache hit, as secretKey is: a session's every chat request asks.
   */
  readonly session = (token: string): SessionLookup | Promise<SessionLookup> => {
    if (!isSessionTokenFormat(token)) return null
    const found = this.sessions.get(hashApiKey(token))
    return found instanceof Promise ? found.then(unlessExpired) : unlessExpired(found)
  }

  /** Applies an eviction from any process: `key:<hash>` (a secret key or session token) or `project:<id>`. */
  handleMessage(message: string): void {
    if (message.startsWith('key:')) {
      const hash = message.slice(4)
      this.keys.evictHash(hash)
      this.sessions.evictHash(hash)
    } else if (message.startsWith('project:')) {
      const projectId = message.slice(8)
      this.keys.evictProject(projectId)
      this.sessions.evictProject(projectId)
    }
  }

  /** A secret key or session token was revoked: every process forgets it within a pub/sub round trip (the TTL bounds it otherwise). */
  invalidateHash(hash: string): Promise<void> {
    return this.broadcast(`key:${hash}`)
  }

  /** A project's settings or one of its wallets changed: its cached sessions are read again. */
  invalidateProject(projectId: string): Promise<void> {
    return this.broadcast(`project:${projectId}`)
  }

  private async broadcast(message: string): Promise<void> {
    this.handleMessage(message)
    try {
      await this.deps.publish(message)
    } catch (error) {
      this.deps.logger.warn('could not broadcast a platform credential eviction; other processes keep it until their TTL', { error: (error as Error).message })
    }
  }
}
