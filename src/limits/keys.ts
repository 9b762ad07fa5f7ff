// Redis keys of one rate-limit and money subject (an account, or a static key): one hash tag, so one Cluster slot.
import { KeyList } from '../lib/hot-redis'
//
// Words used across the scripts:
//   subject     whose buckets and wallet: an account id, or a static key's id
//   hold        money set aside at admission for a request's worst case ("<mode>:<nano-USD>"); tracked requests
//               without money have a hold of 0, so their liveness is tracked the same way
//   open record a tracked request's usage record as it would be written if its gateway died now (JSON)
//   checkpoint  the gateway refreshing that open record (and the hold's expiry) while it streams
//   settled     Redis applied the request's cost (the gateway's settle, or an expired hold that paid one)
//   unposted    a cost settled in Redis that Postgres does not have yet
//   posted      a cost Postgres has that Redis has not settled yet

export interface SubjectKeys {
  limits: string
  wallet: string
  holds: string
  holdExpiry: string
  unposted: string
  posted: string
  settled: string
  open: string
  /** The lineage key of a request without a session lineage (`{tag}:lin:-`). */
  noLineage: string
  /** The keys of admit-rate-1, admit-8 and settle-9 without a lineage, and of checkpoint-4, their encoding kept (see KeyList). */
  rateList: KeyList
  admitList: KeyList
  settleList: KeyList
  checkpointList: KeyList
  /** settle-floats-6's keys: settlements of requests held from a float go together under this list. */
  floatSettleList: KeyList
}

/**
 * Subjects' keys, made once each: a busy account's admission and settlement name the same keys every time. About
 * 2 KB a subject once its scripts' encodings are kept, so at most ~20 MB.
 */
const known = new Map<string, SubjectKeys>()
const MAX_KNOWN = 10_000

export function subjectKeys(subject: string): SubjectKeys {
  const cached = known.get(subject)
  if (cached) return cached
  const tag = `{a:${subject}}`
  const keys = {
    limits: `${tag}:rl`,
    wallet: `${tag}:w`,
    holds: `${tag}:holds`,
    holdExpiry: `${tag}:hexp`,
    unposted: `${tag}:unposted`,
    posted: `${tag}:posted`,
    settled: `${tag}:settled`,
    open: `${tag}:open`,
    noLineage: lineageKey(subject, null),
  }
  const made: SubjectKeys = {
    ...keys,
    rateList: new KeyList([keys.limits]),
    admitList: new KeyList([keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.posted, keys.settled, keys.open, keys.noLineage]),
    settleList: new KeyList([keys.limits, keys.wallet, keys.holds, keys.holdExpiry, keys.unposted, keys.posted, keys.settled, keys.open, keys.noLineage]),
    checkpointList: new KeyList([keys.holds, keys.holdExpiry, keys.open, keys.settled]),
    floatSettleList: new KeyList([keys.wallet, keys.holds, keys.holdExpiry, keys.unposted, keys.posted, keys.settled]),
  }
  // A bound, not a cache policy: past it the next subjects start a fresh map (each is rebuilt on its next request).
  if (known.size >= MAX_KNOWN) known.clear()
  known.set(subject, made)
  return made
}

/**
 * The spend of an end-user session lineage (a session and its refreshes), beside its wallet: the same hash tag, so
 * admission checks max_spend in the wallet's script. Subjects without a lineage pass the unused `{tag}:lin:-`.
 */
export const lineageKey = (subject: string, lineageId: string | null) => `{a:${subject}}:lin:${lineageId ?? '-'}`

/** "2026-11": the calendar month (UTC) a spend belongs to. */
export function monthId(date = new Date()): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`
}

let cachedMonth = { id: '', until: 0 }
/** monthId() of now, worked out once a month rather than on every admission. */
export function currentMonthId(now = Date.now()): string {
  if (now >= cachedMonth.until || now < cachedMonth.until - 32 * 86_400_000) {
    const date = new Date(now)
    cachedMonth = { id: monthId(date), until: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) }
  }
  return cachedMonth.id
}

/** The first instant (UTC) of the month a spend belongs to. */
export function monthStart(date = new Date()): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1))
}

/**
 * The sweeper's index of tracked requests: "<request id> <subject>" scored by when to look at it. Sharded so that on a
 * Redis Cluster it spreads over slots; the shard is a hash of the request id, so writer and remover agree on it.
 * Named after the queue prefix, so deployments (and test runs) sharing a Redis never sweep each other's requests.
 */
export const OPEN_INDEX_SHARDS = 8

export function openIndexKeys(queuePrefix: string): string[] {
  const name = queuePrefix.replace(/^\{|\}$/g, '')
  return Array.from({ length: OPEN_INDEX_SHARDS }, (_, shard) => `{${name}:open:${shard}}`)
}

export function openIndexShard(requestId: string): number {
  let hash = 0
  for (let i = 0; i < requestId.length; i++) hash = (hash * 31 + requestId.charCodeAt(i)) | 0
  return (hash >>> 0) % OPEN_INDEX_SHARDS
}

export const openIndexMember = (requestId: string, subject: string) => `${requestId} ${subject}`
