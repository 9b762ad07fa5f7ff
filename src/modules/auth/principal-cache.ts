// Principals by key hash, cached in process with a short TTL; evictions are broadcast over Redis pub/sub to every process.
import { findPrincipalByKeyHash, type KeyPrincipalRow } from '../../db/queries/keys'
import type { Sql } from '../../lib/db'
import type { Logger } from '../../lib/logger'
import { isMintedKeyFormat } from './keys'
import { hashApiKey, type Principal } from './service'

export const PRINCIPAL_CHANNEL = 'mw:principal-invalidations'
/** Unknown well-formed keys are remembered briefly, so repeating one guess cannot turn into one Postgres query per request. */
const NEGATIVE_TTL_MS = 2_000
const MAX_ENTRIES = 100_000

interface Entry {
  principal: Principal | null
  expiresAt: number
}

export interface PrincipalCacheDeps {
  sql: Sql
  statics: Map<string, Principal>
  ttlMs: number
  /** Sends an eviction to every process (including this one, which evicts before sending). */
  publish: (message: string) => Promise<unknown>
  logger: Logger
}

export function principalFromRow(row: KeyPrincipalRow): Principal {
  return {
    accountId: row.account_id,
    keyId: row.key_id,
    mode: row.mode,
    kind: 'agent',
    subscriptionStatus: row.subscription_status,
    spendCapNano: row.spend_cap_nano === null ? null : BigInt(row.spend_cap_nano),
    limits: { rpm: row.rpm_limit, tpm: row.tpm_limit },
    billingMode: row.billing_mode,
  }
}

export class PrincipalCache {
  private readonly entries = new Map<string, Entry>()
  private readonly loading = new Map<string, Promise<Principal | null>>()
  /** Bumped by every eviction: a lookup that started before one must not cache what it read. */
  private generation = 0

  constructor(private readonly deps: PrincipalCacheDeps) {}

  readonly authenticate = (apiKey: string): Principal | null | Promise<Principal | null> => {
    const hash = hashApiKey(apiKey)
    const fixed = this.deps.statics.get(hash)
    if (fixed) return fixed
    // Static keys may have any form and matched above; a key we did not mint cannot be in Postgres, so it is not looked up.
    if (!isMintedKeyFormat(apiKey)) return null
    const entry = this.entries.get(hash)
    if (entry && entry.expiresAt > Date.now()) return entry.principal
    return this.load(hash)
  }

  private load(hash: string): Promise<Principal | null> {
    const pending = this.loading.get(hash)
    if (pending) return pending
    const startedAt = this.generation
    const lookup = findPrincipalByKeyHash(this.deps.sql, hash)
      .then((row) => {
        const principal = row ? principalFromRow(row) : null
        if (this.generation === startedAt) this.remember(hash, principal)
        return principal
      })
      .finally(() => this.loading.delete(hash))
    this.loading.set(hash, lookup)
    return lookup
  }

  private remember(hash: string, principal: Principal | null): void {
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest tenth.
      let drop = MAX_ENTRIES / 10
      for (const key of this.entries.keys()) {
        this.entries.delete(key)
        if (--drop <= 0) break
      }
    }
    this.entries.set(hash, { principal, expiresAt: Date.now() + (principal ? this.deps.ttlMs : Math.min(NEGATIVE_TTL_MS, this.deps.ttlMs)) })
  }

  /** Applies an eviction message from any process: `key:<hash>` or `account:<id>`. */
  handleMessage(message: string): void {
    this.generation++
    if (message.startsWith('key:')) {
      this.entries.delete(message.slice(4))
    } else if (message.startsWith('account:')) {
      const accountId = message.slice(8)
      for (const [hash, entry] of this.entries) if (entry.principal?.accountId === accountId) this.entries.delete(hash)
    }
  }

  /** A key was revoked: every process forgets it within a pub/sub round trip (the TTL bounds it if Redis is down). */
  invalidateKey(hash: string): Promise<void> {
    return this.broadcast(`key:${hash}`)
  }

  /** An account's subscription, cap or limits changed. */
  invalidateAccount(accountId: string): Promise<void> {
    return this.broadcast(`account:${accountId}`)
  }

  private async broadcast(message: string): Promise<void> {
    this.handleMessage(message)
    try {
      await this.deps.publish(message)
    } catch (error) {
      this.deps.logger.warn('could not broadcast a principal eviction; other processes keep it until their TTL', { error: (error as Error).message })
    }
  }
}
