// Idempotency-Key on every admin write: a retry gets the first request's answer; a key reused for another write, a 409.
import { claimIdempotencyKey, releaseIdempotencyKey, storeIdempotentAnswer } from '../../db/queries/idempotency'
import { ConflictError, InvalidRequestError } from '../../errors'
import type { Sql } from '../../lib/db'

/** What an admin handler gets from Elysia that the idempotency check needs. */
export interface WriteContext {
  request: Request
  body: unknown
  headers: Record<string, string | undefined>
  set: { status?: number | string; headers: Record<string, string | number> }
}

const MAX_KEY_LENGTH = 255

function requestHash(request: Request, body: unknown): string {
  const hasher = new Bun.CryptoHasher('sha256')
  hasher.update(`${request.method} ${new URL(request.url).pathname}\n${JSON.stringify(body ?? null)}`)
  return hasher.digest('hex')
}

/**
 * Runs an admin write once per Idempotency-Key (for 24 hours): the first request's status and body are stored and
 * replayed, marked `Idempotent-Replayed: true`. A failed write frees its key, so a retry runs it again. Without the
 * header the write simply runs. `scope` names whose keys these are when callers other than the admin choose them.
 */
export async function idempotent<T>(sql: Sql, ctx: WriteContext, write: () => Promise<T>, scope = ''): Promise<T> {
  const presented = ctx.headers['idempotency-key']
  if (presented === undefined) return write()
  if (presented.length === 0 || presented.length > MAX_KEY_LENGTH) {
    throw new InvalidRequestError(`The Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} characters.`, 'idempotency-key', 'invalid_idempotency_key')
  }
  // Keys chosen by different callers (accounts) live in one table: the scope (joined by a newline, which no header value holds) keeps one caller's key from answering another's.
  const key = scope ? `${scope}\n${presented}` : presented
  const claim = await claimIdempotencyKey(sql, key, requestHash(ctx.request, ctx.body))
  if (claim.kind === 'conflict') {
    throw new ConflictError('This Idempotency-Key was already used for a different request. Use a new key for a new write.', 'idempotency_key_reused', 'idempotency-key')
  }
  if (claim.kind === 'running') {
    throw new ConflictError('A request with this Idempotency-Key is still running. Retry shortly to get its answer.', 'idempotency_key_in_use', 'idempotency-key')
  }
  if (claim.kind === 'done') {
    ctx.set.status = claim.status
    ctx.set.headers['idempotent-replayed'] = 'true'
    // What the first request answered, stored as JSON: the same shape as T.
    return claim.response as T
  }
  try {
    const answer = await write()
    const status = typeof ctx.set.status === 'number' ? ctx.set.status : 200
    await storeIdempotentAnswer(sql, key, status, answer)
    return answer
  } catch (error) {
    await releaseIdempotencyKey(sql, key).catch(() => {})
    throw error
  }
}
