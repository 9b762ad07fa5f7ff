// After a batch commits, Redis learns which requests Postgres now has (post-usage-4.lua, one call per subject), and the sweeper's index forgets them.
import { storedCosts } from '../../src/db/queries/usage'
import type { Queryable } from '../../src/lib/db'
import { openIndexKeys, openIndexMember, openIndexShard, subjectKeys } from '../../src/limits/keys'
import type { ScriptRunner } from '../../src/limits/scripts'
import type { UsageRecord } from '../../src/metering/usage-record'
import type { RedisConnection } from '../../src/lib/redis'

/**
 * Settled costs leave "unposted"; a request Redis has not settled yet (its gateway may have died) gets a "posted"
 * mark, which its late settlement or its expiring hold honours, so the cost is paid exactly once. Tracked requests'
 * open records go. The cost posted is the one Postgres holds: when this record lost to one already there (the hold
 * sweeper's), that row's cost is what was debited. If this fails, the batch fails and its jobs run again: the rows
 * are already in (no-ops), and this runs again.
 */
/**
 * What Redis may still keep for a written request: a settled cost (it held money) or a record beside its hold (a
 * stream, tracked from its first checkpoint). Other requests left nothing there to forget.
 */
const mayBeKeptInRedis = (record: UsageRecord): boolean => record.stream || record.moneyMode !== 'none'

export async function markPosted(
  deps: { run: ScriptRunner; redis: RedisConnection; sql: Queryable; queuePrefix: string },
  records: readonly UsageRecord[],
  allInserted: boolean,
): Promise<void> {
  const posting = records.filter(mayBeKeptInRedis)
  if (posting.length === 0) return
  const costs = allInserted ? null : await storedCosts(deps.sql, posting.map((r) => r.requestId))
  const bySubject = new Map<string, string[]>()
  for (const record of posting) {
    const cost = record.moneyMode === 'none' ? 0 : (costs?.get(record.requestId) ?? record.costNano)
    const args = bySubject.get(record.subject) ?? []
    args.push(record.requestId, String(cost))
    bySubject.set(record.subject, args)
  }
  await Promise.all(
    [...bySubject].map(([subject, args]) => {
      const keys = subjectKeys(subject)
      return deps.run('post-usage-4', [keys.unposted, keys.posted, keys.settled, keys.open], args)
    }),
  )
  await forgetIndexed(deps.redis, deps.queuePrefix, posting)
}

/** Takes written requests out of the sweeper's index, one ZREM per shard. */
export async function forgetIndexed(redis: RedisConnection, queuePrefix: string, records: readonly Pick<UsageRecord, 'requestId' | 'subject'>[]): Promise<void> {
  if (records.length === 0) return
  const shards = openIndexKeys(queuePrefix)
  const members = new Map<number, string[]>()
  for (const { requestId, subject } of records) {
    const shard = openIndexShard(requestId)
    const list = members.get(shard) ?? []
    list.push(openIndexMember(requestId, subject))
    members.set(shard, list)
  }
  await Promise.all([...members].map(([shard, list]) => redis.zrem(shards[shard]!, ...list)))
}
