// Idempotency keys of admin writes: claim a key, store the answer, read it back for a replay.
import type { Sql } from '../../lib/db'

/** How long an answer is kept for replays; a key older than this may be used again. */
export const IDEMPOTENCY_TTL_HOURS = 24

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'running' | 'conflict' }
  | { kind: 'done'; status: number; response: unknown }

/**
 * Claims `key` for a request with this hash. One statement, so two requests racing with one key cannot both claim it:
 * the loser reads the winner's row (still running, finished, or made for another request).
 */
export async function claimIdempotencyKey(sql: Sql, key: string, requestHash: string): Promise<IdempotencyClaim> {
  const claimed = await sql`
    INSERT INTO admin_idempotency (key, request_hash) VALUES (${key}, ${requestHash})
    ON CONFLICT (key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = NULL, response = NULL, created_at = now()
      WHERE admin_idempotency.created_at < now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})
    RETURNING key`
  if (claimed.length === 1) return { kind: 'claimed' }
  const [row] = await sql<{ request_hash: string; status: number | null; response: unknown }[]>`
    SELECT request_hash, status, response FROM admin_idempotency WHERE key = ${key}`
  // Gone between the two statements (released by a failed first request): the caller may simply retry.
  if (!row) return { kind: 'running' }
  if (row.request_hash !== requestHash) return { kind: 'conflict' }
  if (row.status === null) return { kind: 'running' }
  return { kind: 'done', status: row.status, response: row.response }
}

export async function storeIdempotentAnswer(sql: Sql, key: string, status: number, response: unknown): Promise<void> {
  await sql`UPDATE admin_idempotency SET status = ${status}, response = ${sql.json(response as never)} WHERE key = ${key}`
}

/** The first request failed: the key is free again, so a retry runs the write rather than replaying the failure. */
export async function releaseIdempotencyKey(sql: Sql, key: string): Promise<void> {
  await sql`DELETE FROM admin_idempotency WHERE key = ${key} AND status IS NULL`
}
