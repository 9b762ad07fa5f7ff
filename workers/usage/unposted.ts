// After a batch commits, Redis learns which requests' costs Postgres now has (post-usage-3.lua), one call per subject.
import { subjectKeys } from '../../src/limits/keys'
import type { ScriptRunner } from '../../src/limits/scripts'
import type { UsageRecord } from '../../src/metering/usage-record'

/**
 * Settled costs leave "unposted"; a request Redis has not settled yet (its gateway may have died) gets a "posted"
 * mark, which its late settlement or its expiring hold honours. If this fails, the batch fails and its jobs run again:
 * the rows are already in (no-ops), and this runs again.
 */
export async function markPosted(run: ScriptRunner, records: readonly UsageRecord[]): Promise<void> {
  const bySubject = new Map<string, string[]>()
  for (const record of records) {
    if (record.moneyMode === 'none' || record.costNano <= 0) continue
    const args = bySubject.get(record.subject)
    if (args) args.push(record.requestId, String(record.costNano))
    else bySubject.set(record.subject, [record.requestId, String(record.costNano)])
  }
  await Promise.all(
    [...bySubject].map(([subject, args]) => {
      const keys = subjectKeys(subject)
      return run('post-usage-3', [keys.unposted, keys.posted, keys.settled], args)
    }),
  )
}
