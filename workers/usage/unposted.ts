// After a batch commits, the costs Redis kept as "settled but not in Postgres yet" for its requests are forgotten.
import type Redis from 'ioredis'
import { subjectKeys } from '../../src/limits/keys'
import type { UsageRecord } from '../../src/metering/usage-record'

/**
 * One HDEL per subject, pipelined. If it fails, the batch fails and its jobs run again: the rows are already in
 * (no-ops), and this is tried again. A stale entry left behind is harmless meanwhile: a wallet rebuild drops
 * entries whose request Postgres already has.
 */
export async function forgetPosted(redis: Redis, records: readonly UsageRecord[]): Promise<void> {
  const bySubject = new Map<string, string[]>()
  for (const record of records) {
    if (record.moneyMode === 'none' || record.costNano <= 0) continue
    const ids = bySubject.get(record.subject)
    if (ids) ids.push(record.requestId)
    else bySubject.set(record.subject, [record.requestId])
  }
  if (bySubject.size === 0) return
  const pipeline = redis.pipeline()
  for (const [subject, ids] of bySubject) pipeline.hdel(subjectKeys(subject).unposted, ...ids)
  const results = await pipeline.exec()
  const failed = results?.find(([error]) => error)
  if (failed) throw failed[0]
}
