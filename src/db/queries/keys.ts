// API key queries: insert a hashed key, revoke one, and resolve a hash to its account for authentication.
import type { Queryable as Sql } from '../../lib/db'

export interface KeyPrincipalRow {
  key_id: string
  mode: 'live' | 'test'
  account_id: string
  subscription_status: string
  spend_cap_nano: string | null
  rpm_limit: number | null
  tpm_limit: number | null
  billing_mode: 'postpaid' | 'prepaid'
}

export async function insertApiKey(sql: Sql, key: { id: string; accountId: string; hash: string; display: string; mode: 'live' | 'test' }): Promise<void> {
  await sql`
    INSERT INTO api_keys (id, account_id, key_hash, display, mode)
    VALUES (${key.id}, ${key.accountId}, ${key.hash}, ${key.display}, ${key.mode})`
}

/** The live (unrevoked) key with this hash and its account's current settings. */
export async function findPrincipalByKeyHash(sql: Sql, hash: string): Promise<KeyPrincipalRow | null> {
  const [row] = await sql<KeyPrincipalRow[]>`
    SELECT k.id AS key_id, k.mode, a.id AS account_id, a.subscription_status, a.spend_cap_nano, a.rpm_limit, a.tpm_limit, a.billing_mode
    FROM api_keys k JOIN accounts a ON a.id = k.account_id
    WHERE k.key_hash = ${hash} AND k.revoked_at IS NULL`
  return row ?? null
}

/** Revokes the key; returns its hash (to evict it from caches), or null if there was no live key with that id. */
export async function revokeApiKey(sql: Sql, keyId: string): Promise<{ hash: string; accountId: string } | null> {
  const [row] = await sql<{ key_hash: string; account_id: string }[]>`
    UPDATE api_keys SET revoked_at = now() WHERE id = ${keyId} AND revoked_at IS NULL
    RETURNING key_hash, account_id`
  return row ? { hash: row.key_hash, accountId: row.account_id } : null
}
